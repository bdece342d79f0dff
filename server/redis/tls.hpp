#pragma once
// The TLS client context of a rediss:// configuration.

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "redis/config.hpp"

namespace sessiond::redis {

// Loads the CA file (or the system's trust store), the optional client
// certificate and key, and sets peer verification unless tls_verify is false.
// Reads files: call at start-up. Throws std::system_error with a message naming
// the file on failure.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config& cfg);

}  // namespace sessiond::redis
