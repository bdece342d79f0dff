#include "http/problem.hpp"

#include "common/json_text.hpp"

namespace sessiond::http {

namespace {

void fill(response& res, const problem_kind& kind, std::string_view detail, std::string_view request_id) {
    std::string body;
    body.reserve(160 + detail.size());
    body += R"({"type":"urn:sessiond:problem:)";
    body += kind.code;
    body += R"(","title":")";
    body += kind.title;
    body += R"(","status":)";
    body += std::to_string(kind.status);
    body += R"(,"detail":")";
    append_json_escaped(body, detail);
    body += R"(","code":")";
    body += kind.code;
    body += '"';
    if (!request_id.empty()) {
        body += R"(,"request_id":")";
        append_json_escaped(body, request_id);
        body += '"';
    }
    body += '}';
    res.result(kind.status);
    res.set(field::content_type, "application/problem+json");
    res.body() = std::move(body);
}

}  // namespace

void set_problem(response& res, sessiond::error e, std::string_view detail, std::string_view request_id) {
    fill(res, problem_for(e), detail, request_id);
}

void set_problem(response& res, const boost::system::error_code& ec, std::string_view detail,
                 std::string_view request_id) {
    fill(res, problem_for(ec), detail, request_id);
}

void set_json(response& res, status s, std::string body) {
    res.result(s);
    res.set(field::content_type, "application/json");
    res.body() = std::move(body);
}

}  // namespace sessiond::http
