#pragma once
// A type-erased, move-only completion handler for void(error_code, reply), with
// room for the usual handlers (callbacks, use_awaitable) inline, so queuing a
// command allocates nothing for its handler.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include "redis/reply.hpp"

namespace sessiond::redis::detail {

class completion {
public:
    using io_executor = boost::asio::io_context::executor_type;

    completion() noexcept = default;

    template <class Handler>
    requires(!std::same_as<std::decay_t<Handler>, completion>) explicit completion(Handler&& h) {
        using H = std::decay_t<Handler>;
        if constexpr (sizeof(H) <= capacity && alignof(H) <= alignof(std::max_align_t) &&
                      std::is_nothrow_move_constructible_v<H>) {
            ::new (static_cast<void*>(storage_)) H(std::forward<Handler>(h));
            vtable_ = &inline_vtable<H>;
        } else {
            ::new (static_cast<void*>(storage_)) H*(new H(std::forward<Handler>(h)));
            vtable_ = &heap_vtable<H>;
        }
    }

    completion(completion&& other) noexcept : vtable_(other.vtable_) {
        if (vtable_) {
            vtable_->relocate(other.storage_, storage_);
            other.vtable_ = nullptr;
        }
    }
    completion& operator=(completion&& other) noexcept {
        if (this != &other) {
            reset();
            vtable_ = other.vtable_;
            if (vtable_) {
                vtable_->relocate(other.storage_, storage_);
                other.vtable_ = nullptr;
            }
        }
        return *this;
    }
    completion(const completion&) = delete;
    completion& operator=(const completion&) = delete;
    ~completion() { reset(); }

    explicit operator bool() const noexcept { return vtable_ != nullptr; }

    // Completes on the handler's associated executor (default: `ex`), inline if
    // the calling thread already runs in it. Consumes the handler.
    void complete(const boost::system::error_code& ec, reply r, const io_executor& ex) {
        auto* vt = std::exchange(vtable_, nullptr);
        vt->complete(storage_, ec, std::move(r), ex);
    }

    // Like complete(), but never inline: for completions decided within the
    // initiating call (busy, not connected).
    void post(const boost::system::error_code& ec, const io_executor& ex) {
        auto* vt = std::exchange(vtable_, nullptr);
        vt->post(storage_, ec, ex);
    }

private:
    static constexpr std::size_t capacity = 96;

    struct vtable_t {
        // Move-construct into dst and destroy src.
        void (*relocate)(void* src, void* dst) noexcept;
        void (*destroy)(void* self) noexcept;
        void (*complete)(void* self, const boost::system::error_code&, reply&&, const io_executor&);
        void (*post)(void* self, const boost::system::error_code&, const io_executor&);
    };

    template <class H>
    static void dispatch_handler(H&& h, const boost::system::error_code& ec, reply&& r, const io_executor& ex) {
        auto hex = boost::asio::get_associated_executor(h, ex);
        if constexpr (std::is_same_v<decltype(hex), io_executor>) {
            // What dispatch() would do, without its wrapping: a handler without
            // an executor of its own, completed on a thread of its io_context.
            if (hex == ex && ex.running_in_this_thread()) {
                std::forward<H>(h)(ec, std::move(r));
                return;
            }
        }
        boost::asio::dispatch(hex, boost::asio::append(std::forward<H>(h), ec, std::move(r)));
    }
    template <class H>
    static void post_handler(H&& h, const boost::system::error_code& ec, const io_executor& ex) {
        boost::asio::post(ex, boost::asio::append(std::forward<H>(h), ec, reply{}));
    }

    template <class H>
    static constexpr vtable_t inline_vtable{
        [](void* src, void* dst) noexcept {
            H* s = static_cast<H*>(src);
            ::new (dst) H(std::move(*s));
            s->~H();
        },
        [](void* self) noexcept { static_cast<H*>(self)->~H(); },
        [](void* self, const boost::system::error_code& ec, reply&& r, const io_executor& ex) {
            H h(std::move(*static_cast<H*>(self)));
            static_cast<H*>(self)->~H();
            dispatch_handler(std::move(h), ec, std::move(r), ex);
        },
        [](void* self, const boost::system::error_code& ec, const io_executor& ex) {
            H h(std::move(*static_cast<H*>(self)));
            static_cast<H*>(self)->~H();
            post_handler(std::move(h), ec, ex);
        },
    };

    template <class H>
    static constexpr vtable_t heap_vtable{
        [](void* src, void* dst) noexcept { ::new (dst) H*(*static_cast<H**>(src)); },
        [](void* self) noexcept { delete *static_cast<H**>(self); },
        [](void* self, const boost::system::error_code& ec, reply&& r, const io_executor& ex) {
            H* p = *static_cast<H**>(self);
            H h(std::move(*p));
            delete p;
            dispatch_handler(std::move(h), ec, std::move(r), ex);
        },
        [](void* self, const boost::system::error_code& ec, const io_executor& ex) {
            H* p = *static_cast<H**>(self);
            H h(std::move(*p));
            delete p;
            post_handler(std::move(h), ec, ex);
        },
    };

    void reset() noexcept {
        if (vtable_) std::exchange(vtable_, nullptr)->destroy(storage_);
    }

    alignas(std::max_align_t) unsigned char storage_[capacity];
    const vtable_t* vtable_ = nullptr;
};

}  // namespace sessiond::redis::detail
