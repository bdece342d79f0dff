#pragma once
// A Lua script: its source and SHA-1 (hex), computed once. Cheap to copy.

#include <memory>
#include <string>
#include <string_view>

namespace sessiond::redis {

class script {
public:
    explicit script(std::string source);

    const std::string& source() const noexcept { return data_->source; }
    // Lowercase hex SHA-1 of the source, as EVALSHA and SCRIPT LOAD use it.
    const std::string& sha1() const noexcept { return data_->sha1; }

private:
    struct data {
        std::string source;
        std::string sha1;
    };
    std::shared_ptr<const data> data_;
};

// Lowercase hex SHA-1 of `text` (OpenSSL).
std::string sha1_hex(std::string_view text);

}  // namespace sessiond::redis
