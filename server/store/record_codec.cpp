#include "store/record_codec.hpp"

#include "common/error_category.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace sessiond::store {

using session::bucket_count;
using session::bytes_view;
using session::max_metadata_size;
using session::max_timestamp;
using session::max_user_id_size;
using session::min_timestamp;
using session::previous_secret;
using session::session_id;
using session::session_record;
using session::timestamp;

namespace {

constexpr std::uint8_t record_format = 2;   // unsealed
constexpr std::uint8_t sealed_format = 3;   // sealed, one previous secret at most
constexpr std::uint8_t chain_format = 4;    // sealed, two previous secrets or more
constexpr std::uint8_t context_format = 5;  // sealed, with a session context (device, assurance, tenant, provider)
constexpr std::uint8_t newest_format = context_format;
constexpr std::uint8_t flag_rotated = 1, flag_previous = 2, known_flags = flag_rotated | flag_previous;
// Format 5's context parts, each present when its bit is set.
constexpr std::uint8_t part_device = 1, part_auth = 2, part_tenant = 4, part_provider = 8,
                       known_parts = part_device | part_auth | part_tenant | part_provider;
constexpr std::int64_t max_ms = max_timestamp.time_since_epoch().count();

constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t u) noexcept {
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}
static_assert(unzigzag(zigzag(-5)) == -5 && zigzag(-1) == 1 && zigzag(1) == 2);

bool in_range(timestamp t) noexcept {
    return t >= min_timestamp && t <= max_timestamp;
}

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, bytes_view b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

void put_delta(std::string& out, timestamp t, timestamp base) {
    put_varint(out, zigzag((t - base).count()));  // both within max_ms of the range: cannot overflow
}

// Reads untrusted bytes. Every read is bounds-checked; after the first
// failure reads return zeros and `bad` stays set, so the caller checks once.
class reader {
public:
    explicit reader(std::string_view data) noexcept
        : p_(reinterpret_cast<const std::uint8_t*>(data.data())), end_(p_ + data.size()) {}

    bool bad() const noexcept { return bad_; }
    bool at_end() const noexcept { return p_ == end_; }
    void fail() noexcept { bad_ = true; }

    std::uint8_t byte() noexcept {
        if (p_ != end_) return *p_++;
        fail();
        return 0;
    }

    // Minimal LEB128, at most 64 bits.
    std::uint64_t varint() noexcept {
        std::uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = byte();
            if (bad_ || (shift == 63 && b > 1)) break;  // truncated, or beyond 64 bits
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                if (b == 0 && shift != 0) break;  // a redundant zero group
                return v;
            }
        }
        fail();
        return 0;
    }

    // A view of the next `n` bytes; empty (and bad) if there are fewer.
    bytes_view bytes(std::uint64_t n) noexcept {
        if (bad_ || n > static_cast<std::uint64_t>(end_ - p_)) {
            fail();
            return {};
        }
        const bytes_view out(p_, static_cast<std::size_t>(n));
        p_ += n;
        return out;
    }

    template <std::size_t N>
    void copy_to(std::array<std::uint8_t, N>& out) noexcept {
        const bytes_view b = bytes(N);
        if (!bad_) std::copy(b.begin(), b.end(), out.begin());
    }

    std::string_view view(std::size_t min, std::size_t max) noexcept {
        const std::uint64_t n = varint();
        if (n < min || n > max) {
            fail();
            return {};
        }
        const bytes_view b = bytes(n);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }

    std::string string(std::size_t min, std::size_t max) { return std::string(view(min, max)); }

    // `base` lies within max_ms of the range (last_seen_at's base is
    // idle_expires_at - idle_timeout), so a valid delta is within 2 * max_ms.
    timestamp delta_from(timestamp base) noexcept {
        const std::int64_t d = unzigzag(varint());
        if (d < -2 * max_ms || d > 2 * max_ms) {  // so that the sum below cannot overflow
            fail();
            return base;
        }
        const timestamp t = base + std::chrono::milliseconds(d);
        if (!in_range(t)) fail();
        return t;
    }

private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
    bool bad_ = false;
};

const char* describe(record_errc e) noexcept {
    switch (e) {
        case record_errc::unsupported_format:
            return "session record format not supported";
        case record_errc::malformed:
            return "malformed session record";
        case record_errc::forged:
            return "session record not written by sessiond under this key";
        case record_errc::unsigned_record:
            return "unsealed (format 2) session record, not accepted";
    }
    return "unknown record error";
}

}  // namespace

const boost::system::error_category& record_category() noexcept {
    static const enum_category<record_errc> instance("sessiond.record", describe);
    return instance;
}

namespace {

void put_string(std::string& out, std::string_view text) {
    put_varint(out, text.size());
    out += text;
}

// Throws std::invalid_argument for a part that breaks its bound (context.hpp).
void check_context(const session_record& r) {
    const auto& d = r.device;
    if (d.user_agent.size() > session::max_user_agent_size || d.label.size() > session::max_label_size ||
        d.created_address.size() > session::max_address_size || d.last_address.size() > session::max_address_size)
        throw std::invalid_argument("encode_record: device context out of bounds");
    if (r.auth.aal > session::max_aal || r.auth.amr.size() > session::max_amr_values ||
        std::any_of(r.auth.amr.begin(), r.auth.amr.end(),
                    [](const std::string& m) { return m.empty() || m.size() > session::max_amr_size; }))
        throw std::invalid_argument("encode_record: assurance out of bounds");
    if (r.tenant.size() > session::max_tenant_size) throw std::invalid_argument("encode_record: tenant too long");
    if (r.provider.provider.size() > session::max_provider_size ||
        r.provider.sid.size() > session::max_provider_sid_size || r.provider.empty() != r.provider.sid.empty())
        throw std::invalid_argument("encode_record: provider session out of bounds");
}

void put_context(std::string& out, const session_record& r) {
    check_context(r);
    const std::uint8_t parts = (r.device.empty() ? 0 : part_device) | (r.auth.empty() ? 0 : part_auth) |
                               (r.tenant.empty() ? 0 : part_tenant) | (r.provider.empty() ? 0 : part_provider);
    out.push_back(static_cast<char>(parts));
    if (parts & part_device) {
        put_string(out, r.device.user_agent);
        put_string(out, r.device.label);
        put_string(out, r.device.created_address);
        put_string(out, r.device.last_address);
    }
    if (parts & part_auth) {
        out.push_back(static_cast<char>(r.auth.aal));
        put_varint(out, r.auth.amr.size());
        for (const auto& m : r.auth.amr)
            put_string(out, m);
    }
    if (parts & part_tenant) put_string(out, r.tenant);
    if (parts & part_provider) {
        put_string(out, r.provider.provider);
        put_string(out, r.provider.sid);
    }
}

// The fields of `format` (2, 3 or 4, before any seal). Formats 2 and 3 hold
// the newest previous secret only; format 4 holds the whole chain, and is
// written only for a chain of two or more (one spelling per record).
std::string encode_fields(const session_record& r, std::uint8_t format) {
    if (format < record_format || format > newest_format) throw std::invalid_argument("encode_record: no such format");
    if (format == chain_format && r.previous.size() < 2)
        throw std::invalid_argument("encode_record: format 4 holds two previous secrets or more");
    if (format == context_format && !has_context(r))
        throw std::invalid_argument("encode_record: format 5 holds a session context");
    if (r.user_id.empty() || r.user_id.size() > max_user_id_size)
        throw std::invalid_argument("encode_record: user_id size out of bounds");
    if (r.metadata.size() > max_metadata_size) throw std::invalid_argument("encode_record: metadata too large");
    if (r.id.bucket >= bucket_count) throw std::invalid_argument("encode_record: bucket out of range");
    if (r.idle_timeout.count() < 0) throw std::invalid_argument("encode_record: negative idle_timeout");
    for (const timestamp t : {r.created_at, r.last_seen_at, r.idle_expires_at, r.expires_at, r.authenticated_at,
                              r.rotated_at.value_or(r.created_at)})
        if (!in_range(t)) throw std::invalid_argument("encode_record: timestamp out of range");
    for (const auto& p : r.previous)
        if (!in_range(p.valid_until)) throw std::invalid_argument("encode_record: timestamp out of range");
    const bool chained = format >= chain_format;
    const std::size_t kept = chained ? r.previous.size() : std::min<std::size_t>(r.previous.size(), 1);

    std::string out;
    out.reserve(200 + r.user_id.size() + r.metadata.size());
    out.push_back(static_cast<char>(format));
    out.push_back(static_cast<char>((r.rotated_at ? flag_rotated : 0) | (kept > 0 ? flag_previous : 0)));
    put_varint(out, r.version);
    put_varint(out, r.user_id.size());
    out += r.user_id;
    put_varint(out, r.metadata.size());
    out += r.metadata;
    put_varint(out, static_cast<std::uint64_t>(r.created_at.time_since_epoch().count()));
    put_varint(out, static_cast<std::uint64_t>(r.idle_timeout.count()));
    put_delta(out, r.idle_expires_at, r.created_at);
    put_delta(out, r.last_seen_at, r.idle_expires_at - r.idle_timeout);
    put_delta(out, r.expires_at, r.created_at);
    put_delta(out, r.authenticated_at, r.created_at);
    if (r.rotated_at) put_delta(out, *r.rotated_at, r.created_at);
    put_bytes(out, r.secret_hash.view());
    if (chained && kept > 0) put_varint(out, kept);
    for (std::size_t i = 0; i < kept; ++i) {
        put_bytes(out, r.previous[i].secret_hash.view());
        put_delta(out, r.previous[i].valid_until, r.created_at);
    }
    if (format == context_format) put_context(out, r);
    return out;
}

// Format 5's context into `r`; false for a part this version does not know
// (a newer writer's), which is no malformation.
bool read_context(reader& in, session_record& r) {
    const std::uint8_t parts = in.byte();
    if (in.bad()) return true;
    if ((parts & ~known_parts) != 0) return false;
    if (parts == 0) in.fail();  // written as format 3 or 4 then
    if (parts & part_device) {
        r.device.user_agent = in.string(0, session::max_user_agent_size);
        r.device.label = in.string(0, session::max_label_size);
        r.device.created_address = in.string(0, session::max_address_size);
        r.device.last_address = in.string(0, session::max_address_size);
        if (r.device.empty()) in.fail();
    }
    if (parts & part_auth) {
        r.auth.aal = in.byte();
        if (r.auth.aal > session::max_aal) in.fail();
        const std::uint64_t n = in.varint();
        if (n > session::max_amr_values) in.fail();
        for (std::uint64_t i = 0; i < n && !in.bad(); ++i)
            r.auth.amr.push_back(in.string(1, session::max_amr_size));
        if (r.auth.empty()) in.fail();
    }
    if (parts & part_tenant) r.tenant = in.string(1, session::max_tenant_size);
    if (parts & part_provider) {
        r.provider.provider = in.string(1, session::max_provider_size);
        r.provider.sid = in.string(1, session::max_provider_sid_size);
    }
    return true;
}

// The fields of format 2, and of formats 3 and 4 before their seal: the
// same layout under another format byte, format 4 with a count of previous
// secrets (2 to max_previous_secrets) before them.
boost::system::result<session_record> decode_fields(std::string_view data, const session_id& id,
                                                    std::uint8_t expected_format) {
    reader in(data);
    const std::uint8_t format = in.byte();
    if (in.bad()) return record_errc::malformed;
    if (format != expected_format) return record_errc::unsupported_format;

    session_record r;
    const std::uint8_t flags = in.byte();
    if ((flags & ~known_flags) != 0) in.fail();
    r.version = in.varint();
    r.id = id;
    if (r.id.bucket >= bucket_count) in.fail();
    r.user_id = in.string(1, max_user_id_size);
    r.metadata = in.string(0, max_metadata_size);
    const std::uint64_t created = in.varint();
    if (created > static_cast<std::uint64_t>(max_ms)) in.fail();
    if (in.bad()) return record_errc::malformed;  // the deltas need a valid base
    r.created_at = timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(created)));
    const std::uint64_t idle = in.varint();
    if (idle > static_cast<std::uint64_t>(max_ms)) in.fail();
    if (in.bad()) return record_errc::malformed;  // last_seen_at's base needs it
    r.idle_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(idle));
    r.idle_expires_at = in.delta_from(r.created_at);
    r.last_seen_at = in.delta_from(r.idle_expires_at - r.idle_timeout);
    r.expires_at = in.delta_from(r.created_at);
    r.authenticated_at = in.delta_from(r.created_at);
    if (flags & flag_rotated) r.rotated_at = in.delta_from(r.created_at);
    in.copy_to(r.secret_hash.bytes);
    std::uint64_t count = (flags & flag_previous) ? 1 : 0;
    if (format == chain_format) {
        // A chain, or it would have been written as format 3.
        if (count == 0) in.fail();
        count = in.varint();
        if (count < 2 || count > session::max_previous_secrets) in.fail();
    } else if (format == context_format && count != 0) {
        count = in.varint();
        if (count < 1 || count > session::max_previous_secrets) in.fail();
    }
    for (std::uint64_t i = 0; i < count && !in.bad(); ++i) {
        previous_secret prev;
        in.copy_to(prev.secret_hash.bytes);
        prev.valid_until = in.delta_from(r.created_at);
        r.previous.push_back(prev);
    }
    if (format == context_format && !read_context(in, r)) return record_errc::unsupported_format;
    if (in.bad() || !in.at_end()) return record_errc::malformed;
    return r;
}

// The one spelling of `r` when `write_format` is configured: the oldest
// format that holds all of it (format 3 for a record without a chain or a
// context, which every version from format 3 on reads), and below the
// configured one what that format holds (a chain cut to its newest secret,
// no context).
std::uint8_t written_format(const session_record& r, std::uint8_t write_format) noexcept {
    if (write_format <= sealed_format) return write_format;
    if (write_format == context_format && has_context(r)) return context_format;
    return r.previous.size() >= 2 ? chain_format : sealed_format;
}

constexpr std::size_t tag_size = 16;
constexpr std::size_t seal_size = 1 + tag_size;  // kid, tag

// HMAC-SHA-256(record key, varint(|key name|) ‖ key name ‖ sealed part),
// first 16 bytes: binds the record to the key it is stored under.
std::array<std::uint8_t, tag_size> seal_tag(bytes_view record_key, std::string_view key_name,
                                            std::string_view sealed_part) {
    std::string message;
    message.reserve(10 + key_name.size() + sealed_part.size());
    put_varint(message, key_name.size());
    message.append(key_name).append(sealed_part);
    const auto mac = session::hmac_sha256(record_key, session::as_bytes(message));
    std::array<std::uint8_t, tag_size> out{};
    std::copy_n(mac.begin(), tag_size, out.begin());
    return out;
}

}  // namespace

std::string encode_record(const session_record& r) {
    return encode_fields(r, record_format);
}

boost::system::result<session_record> decode_record(std::string_view data, const session_id& id) {
    return decode_fields(data, id, record_format);
}

std::string encode_record_fields(const session_record& r, std::uint8_t format) {
    return encode_fields(r, format);
}

boost::system::result<session_record> decode_record_fields(std::string_view data, const session_id& id) {
    if (data.empty()) return record_errc::malformed;
    const auto format = static_cast<std::uint8_t>(data[0]);
    if (format > newest_format) return record_errc::unsupported_format;
    if (format < record_format) return record_errc::malformed;
    return decode_fields(data, id, format);
}

std::optional<std::string_view> record_owner(std::string_view value) {
    reader in(value);
    const std::uint8_t format = in.byte();
    in.byte();    // flags
    in.varint();  // version
    auto owner = in.view(1, max_user_id_size);
    if (in.bad() || format < record_format) return std::nullopt;
    return owner;
}

record_sealer::record_sealer(std::shared_ptr<const session::keyring> keys, record_format_options options)
    : keys_(std::move(keys)), options_(options) {
    if (options_.write_format < record_format || options_.write_format > newest_format)
        throw std::invalid_argument("record format must be 2, 3, 4 or 5");
}

record_sealer::record_sealer(const reloadable<session::keyring>& keys, record_format_options options)
    : keys_(keys), options_(options) {
    if (options_.write_format < record_format || options_.write_format > newest_format)
        throw std::invalid_argument("record format must be 2, 3, 4 or 5");
}

std::string record_sealer::seal(const session_record& r, std::string_view key_name) const {
    // Format 4 only where format 3 cannot hold the record: while a record
    // has one previous secret at most, it is what every version from format
    // 3 on reads.
    const std::uint8_t format = written_format(r, options_.write_format);
    std::string out = encode_fields(r, format);
    if (format == record_format) return out;
    const auto keys = keys_.get();
    const std::uint8_t kid = keys->signing_kid();
    out.push_back(static_cast<char>(kid));
    const auto tag = seal_tag(keys->record_key(kid), key_name, out);
    out.append(reinterpret_cast<const char*>(tag.data()), tag.size());
    return out;
}

boost::system::result<session_record> record_sealer::open(std::string_view value, std::string_view key_name,
                                                          const session_id& id) const {
    if (value.empty()) return record_errc::malformed;
    const auto format = static_cast<std::uint8_t>(value[0]);
    const auto keys = keys_.get();
    if (format >= sealed_format && format <= newest_format) {
        if (value.size() <= seal_size) return record_errc::malformed;
        const auto sealed_part = value.substr(0, value.size() - tag_size);
        const auto kid = static_cast<std::uint8_t>(sealed_part.back());
        const auto key = keys->record_key(kid);
        if (key.empty()) return record_errc::forged;  // no such key (any more): nobody can vouch for it
        const auto expected = seal_tag(key, key_name, sealed_part);
        if (!session::equal_ct(session::as_bytes(value.substr(sealed_part.size())),
                               bytes_view(expected.data(), expected.size())))
            return record_errc::forged;
        return decode_fields(sealed_part.substr(0, sealed_part.size() - 1), id, format);
    }
    if (format == record_format) {
        // No seal: read only while told to (a rolling upgrade from format 2),
        // and then at least the user must belong to the session's bucket.
        if (!options_.accept_unsigned) return record_errc::unsigned_record;
        auto r = decode_record(value, id);
        if (r && keys->user_bucket(r->user_id) != id.bucket) return record_errc::forged;
        return r;
    }
    return format > newest_format ? record_errc::unsupported_format : record_errc::malformed;
}

}  // namespace sessiond::store
