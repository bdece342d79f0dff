#pragma once
// A minimal blocking RESP2 client, so tests can read exactly what sessiond
// stored in Redis (binary-safe), independent of the client under test.

#include <string>
#include <variant>
#include <vector>

namespace sessiond::test {

struct resp_value {
    enum kind_t { nil, status, error, integer, bulk, array } kind = nil;
    std::string str;
    long long num = 0;
    std::vector<resp_value> elements;
};

class resp_client {
public:
    explicit resp_client(unsigned short port);
    ~resp_client();
    resp_client(const resp_client&) = delete;
    resp_client& operator=(const resp_client&) = delete;

    resp_value command(const std::vector<std::string>& args);
    // Every key (SCAN), binary-safe.
    std::vector<std::string> keys();

private:
    char get();
    std::string line();
    resp_value read();
    int fd_ = -1;
    std::string buf_;
    std::size_t pos_ = 0;
};

}  // namespace sessiond::test
