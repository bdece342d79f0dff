#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "common/error.hpp"
#include "http/problem.hpp"

using namespace sessiond;

TEST_CASE("every error maps to one status and a stable code") {
    struct row {
        error e;
        unsigned status;
        const char* code;
    };
    const row rows[] = {
        {error::malformed_request, 400, "malformed_request"},
        {error::not_found, 404, "not_found"},
        {error::method_not_allowed, 405, "method_not_allowed"},
        {error::body_too_large, 413, "body_too_large"},
        {error::unsupported_media_type, 415, "unsupported_media_type"},
        {error::headers_too_large, 431, "headers_too_large"},
        {error::request_timeout, 408, "request_timeout"},
        {error::invalid_session, 401, "invalid_session"},
        {error::reauthentication_required, 401, "reauthentication_required"},
        {error::unauthenticated, 401, "unauthenticated"},
        {error::forbidden, 403, "forbidden"},
        {error::session_limit, 409, "session_limit"},
        {error::concurrent_update, 409, "concurrent_update"},
        {error::store_unavailable, 503, "store_unavailable"},
        {error::store_busy, 503, "store_busy"},
        {error::store_full, 503, "store_full"},
        {error::too_many_connections, 503, "too_many_connections"},
        {error::store_unacknowledged, 503, "store_unavailable"},
        {error::store_out_of_memory, 503, "store_unavailable"},
        {error::store_forbidden, 503, "store_unavailable"},
        {error::store_rejected, 503, "store_unavailable"},
        {error::internal_error, 500, "internal_error"},
    };
    for (const auto& r : rows) {
        INFO(r.code);
        boost::system::error_code ec = r.e;
        CHECK(problem_for(ec).status == r.status);
        CHECK(problem_for(ec).code == r.code);
        CHECK(ec.message() == problem_for(r.e).title);
    }
    // An error from another category is an internal error, never leaked as is.
    CHECK(problem_for(boost::system::error_code(ECONNREFUSED, boost::system::system_category())).status == 500);
}

TEST_CASE("problem responses are RFC 9457 JSON with the code and the request id") {
    http::response res;
    http::set_problem(res, error::forbidden, "missing scope \"sessions:admin\"", "req-1");
    CHECK(res.result_int() == 403);
    CHECK(res[http::field::content_type] == "application/problem+json");
    auto v = boost::json::parse(res.body()).as_object();
    CHECK(v.at("status").as_int64() == 403);
    CHECK(v.at("code").as_string() == "forbidden");
    CHECK(v.at("title").as_string() == "Forbidden");
    CHECK(v.at("detail").as_string() == "missing scope \"sessions:admin\"");
    CHECK(v.at("request_id").as_string() == "req-1");
    CHECK(v.at("type").as_string() == "urn:sessiond:problem:forbidden");
}
