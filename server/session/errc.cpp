#include "session/errc.hpp"

#include <string>

namespace sessiond::session {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sessiond.session"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::malformed_token:
                return "malformed token";
            case errc::bad_prefix:
                return "token prefix does not match";
            case errc::unknown_key:
                return "token signed with a key that is not accepted";
            case errc::bad_tag:
                return "token authentication tag does not match";
            case errc::invalid_user_id:
                return "user_id must be 1..256 bytes";
            case errc::invalid_idle_timeout:
                return "idle_timeout out of the allowed range";
            case errc::invalid_absolute_timeout:
                return "absolute_timeout out of the allowed range";
            case errc::unsupported_record_format:
                return "session record format not supported";
            case errc::malformed_record:
                return "malformed session record";
        }
        return "unknown session error";
    }
};

}  // namespace

const boost::system::error_category& session_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace sessiond::session
