#pragma once
// RFC 9457 problem responses: every error sessiond sends goes through here.

#include <string_view>

#include "common/error.hpp"
#include "http/types.hpp"

namespace sessiond::http {

// Fills `res` with an application/problem+json body for `e`. `detail` is
// shown to the caller: it must never hold a token or a secret.
void set_problem(response& res, sessiond::error e, std::string_view detail, std::string_view request_id);
void set_problem(response& res, const boost::system::error_code& ec, std::string_view detail,
                 std::string_view request_id);

// Fills `res` with a JSON body.
void set_json(response& res, status s, std::string body);

}  // namespace sessiond::http
