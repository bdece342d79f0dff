#pragma once
// A list page's cursor on the wire: base64url of the position's deadline
// (milliseconds, 8 bytes big-endian), the id's 16 random bytes and a tag of
// 16 bytes, HMAC-SHA-256 under the user index key over both and the user id
// (keyring::derive_secret). Opaque to callers: only a cursor this
// deployment issued for this user is accepted, so a caller can neither
// forge a position nor carry a cursor over to another user. The user index
// key never changes for a deployment, so a cursor outlives token key
// rotations and is good on every instance.

#include <optional>
#include <string>
#include <string_view>

#include "service/session_service.hpp"
#include "session/keyring.hpp"

namespace sessiond::api {

// The cursor of the page after `c`, for `user_id`'s list.
std::string encode_cursor(const service::user_cursor& c, const session::keyring& keys, std::string_view user_id);

// A list page's JSON: {"sessions":[...], "unreadable"?, "next_cursor"?},
// the cursor bound to `user_id`. With `current`, each session also says
// whether it is that one ("current": true or false).
std::string page_json(const service::user_sessions& page, const session::keyring& keys, std::string_view user_id,
                      const session::session_id* current = nullptr);

// The position a cursor names: nullopt for anything this deployment did not
// issue for `user_id`.
std::optional<service::user_cursor> decode_cursor(std::string_view text, const session::keyring& keys,
                                                  std::string_view user_id);

}  // namespace sessiond::api
