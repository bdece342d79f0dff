#include "redis/reply_decoder.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>

#include <hiredis/read.h>

namespace sessiond::redis {

// hiredis calls these while parsing. The root object is the decoder's root_;
// an element is a slot in its parent array's element vector, which grows as
// elements arrive (hiredis creates them in order, and no pointer to an
// earlier sibling is in use then), so that memory follows the bytes received
// rather than the element count a reply announces: "*2147483647\r\n" alone
// must not allocate 150 GB. Nothing is allocated besides strings and element
// vectors; an allocation failure is hiredis' out-of-memory error.
struct decoder_callbacks {
    static constexpr std::size_t max_reserved = 1024;  // elements reserved up front at most

    static reply* slot(const redisReadTask* task) noexcept {
        if (!task->parent) return &static_cast<reply_decoder*>(task->privdata)->root_;
        auto& elements = static_cast<reply*>(task->parent->obj)->elements_;
        const auto idx = static_cast<std::size_t>(task->idx);
        try {
            if (idx >= elements.size()) elements.resize(idx + 1);
        } catch (const std::bad_alloc&) {
            return nullptr;
        }
        return &elements[idx];
    }

    static reply_decoder& decoder(const redisReadTask* task) {
        const redisReadTask* root = task;
        while (root->parent)
            root = root->parent;
        return *static_cast<reply_decoder*>(root->privdata);
    }

    static void* create_string(const redisReadTask* task, char* s, size_t len) {
        if (!decoder(task).charge(len)) return nullptr;
        reply* r = slot(task);
        if (!r) return nullptr;
        switch (task->type) {
            case REDIS_REPLY_STATUS:
                r->kind_ = reply::kind::status;
                break;
            case REDIS_REPLY_ERROR:
                r->kind_ = reply::kind::error;
                break;
            default:
                r->kind_ = reply::kind::string;
                break;
        }
        try {
            r->text_.assign(s, len);
        } catch (const std::bad_alloc&) {
            return nullptr;
        }
        return r;
    }

    static void* create_array(const redisReadTask* task, int n) {
        if (n < 0 || !decoder(task).charge(static_cast<std::size_t>(n) * sizeof(reply))) return nullptr;
        reply* r = slot(task);
        if (!r) return nullptr;
        r->kind_ = reply::kind::array;
        try {
            r->elements_.reserve(std::min(static_cast<std::size_t>(n), max_reserved));
        } catch (const std::bad_alloc&) {
            return nullptr;
        }
        return r;
    }

    static void* create_integer(const redisReadTask* task, long long v) {
        reply* r = slot(task);
        if (!r) return nullptr;
        r->kind_ = reply::kind::integer;
        r->integer_ = v;
        return r;
    }

    static void* create_nil(const redisReadTask* task) {
        reply* r = slot(task);
        if (!r) return nullptr;
        r->kind_ = reply::kind::nil;
        return r;
    }

    // Only ever called for the root (a partial reply dropped on error or free).
    static void free_object(void* obj) { *static_cast<reply*>(obj) = reply{}; }
};

namespace {
redisReplyObjectFunctions callbacks{
    &decoder_callbacks::create_string, &decoder_callbacks::create_array, &decoder_callbacks::create_integer,
    &decoder_callbacks::create_nil,    &decoder_callbacks::free_object,
};
}  // namespace

void reply_decoder::reader_deleter::operator()(redisReader* r) const noexcept {
    redisReaderFree(r);
}

reply_decoder::reply_decoder(std::size_t max_reply_bytes) : max_reply_bytes_(max_reply_bytes) {
    reset();
}

bool reply_decoder::charge(std::size_t n) noexcept {
    if (n > max_reply_bytes_ - std::min(reply_bytes_, max_reply_bytes_)) {
        too_large_ = true;
        return false;
    }
    reply_bytes_ += n;
    return true;
}

reply_decoder::~reply_decoder() = default;

void reply_decoder::reset() {
    reader_.reset();
    root_ = reply{};
    reader_.reset(redisReaderCreateWithFunctions(&callbacks));
    if (!reader_) throw std::bad_alloc();
    reader_->privdata = this;
    failed_ = false;
    error_.clear();
    reply_bytes_ = 0;
    too_large_ = false;
}

void reply_decoder::set_failed() {
    failed_ = true;
    error_ = too_large_ ? "reply larger than " + std::to_string(max_reply_bytes_) + " bytes" : reader_->errstr;
}

bool reply_decoder::feed(std::string_view bytes) {
    if (failed_) return false;
    if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
        set_failed();
        return false;
    }
    // Bytes hiredis holds for a reply it has not finished (a bulk string
    // still arriving) count too.
    if (reader_->len - reader_->pos > max_reply_bytes_ - std::min(reply_bytes_, max_reply_bytes_)) {
        too_large_ = true;
        set_failed();
        return false;
    }
    return true;
}

std::optional<reply> reply_decoder::next() {
    if (failed_) return std::nullopt;
    void* obj = nullptr;
    if (redisReaderGetReply(reader_.get(), &obj) != REDIS_OK) {
        set_failed();
        return std::nullopt;
    }
    if (!obj) return std::nullopt;
    reply r = std::move(root_);
    root_ = reply{};
    reply_bytes_ = 0;
    return r;
}

bool reply_decoder::decode(std::string_view bytes, std::vector<reply>& out) {
    constexpr std::size_t slice = 1024;
    while (!bytes.empty()) {
        const auto n = std::min(slice, bytes.size());
        if (!feed(bytes.substr(0, n))) return false;
        bytes.remove_prefix(n);
        while (auto r = next())
            out.push_back(std::move(*r));
        if (failed_) return false;
    }
    return true;
}

}  // namespace sessiond::redis
