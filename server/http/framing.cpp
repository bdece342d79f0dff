#include "http/framing.hpp"

#include <boost/beast/core/string.hpp>

namespace sessiond::http {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::string_view framing_problem(const request& req) {
    std::size_t codings = 0;
    for (auto it = req.find(field::transfer_encoding); it != req.end() && it->name() == field::transfer_encoding;
         ++it) {
        // Each field is a list; every element must be `chunked`, once in all.
        std::string_view list = it->value();
        for (;;) {
            auto comma = list.find(',');
            auto coding = trim(list.substr(0, comma));
            if (!coding.empty()) {
                if (!boost::beast::iequals(coding, "chunked") || ++codings > 1)
                    return "Transfer-Encoding other than chunked is not supported";
            }
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
        if (codings == 0) return "Transfer-Encoding other than chunked is not supported";
    }
    if (codings > 0 && req.count(field::content_length) > 0)
        return "Transfer-Encoding and Content-Length must not be sent together";
    if (req.version() >= 11 && req.count(field::host) != 1) return "an HTTP/1.1 request needs exactly one Host header";
    return {};
}

bool expects_continue(const request& req) {
    return req.version() >= 11 && boost::beast::iequals(trim(req[field::expect]), "100-continue");
}

}  // namespace sessiond::http
