// api/errors.cpp: the one mapping from every error a handler is given to
// the problem and detail a caller sees.

#include <catch2/catch.hpp>

#include <boost/asio/error.hpp>

#include "api/errors.hpp"
#include "service/errc.hpp"
#include "session/errc.hpp"

using namespace sessiond;
using api::failure_of;

TEST_CASE("refused tokens share one detail and keep their reason for the metric") {
    for (boost::system::error_code ec :
         {make_error_code(service::errc::wrong_secret), make_error_code(service::errc::reuse_detected),
          make_error_code(session::errc::bad_tag)}) {
        const auto f = failure_of(ec);
        CHECK(f.problem == error::invalid_session);
        CHECK(f.detail == api::invalid_token_detail);
        CHECK(f.refusal);
    }
    const auto none = failure_of(service::errc::no_token);
    CHECK(none.problem == error::invalid_session);
    CHECK(none.detail == "no session token");
    CHECK_FALSE(none.refusal);
}

TEST_CASE("service, domain and assertion errors map to their problems") {
    CHECK(failure_of(service::errc::not_found).problem == error::not_found);
    const auto retry = failure_of(service::errc::concurrent_change);
    CHECK(retry.problem == error::concurrent_update);
    CHECK(retry.header == http::field::retry_after);
    CHECK(failure_of(session::errc::invalid_user_id).problem == error::malformed_request);
    CHECK(failure_of(service::assertion_errc::used).problem == error::assertion_used);
    const auto bad = failure_of(service::assertion_errc::signature);
    CHECK(bad.problem == error::invalid_assertion);
    CHECK(bad.header == http::field::www_authenticate);
    CHECK(bad.header_value == "Bearer error=\"invalid_token\"");
}

TEST_CASE("store errors pass through with their details; anything else is an unavailable store") {
    const auto busy = failure_of(error::store_busy);
    CHECK(busy.problem == error::store_busy);
    CHECK(busy.detail == "the session store is busy, retry");
    CHECK(failure_of(error::store_unavailable).detail == "the session store could not be reached in time");
    const auto other = failure_of(boost::asio::error::operation_aborted);
    CHECK(other.problem == error::store_unavailable);
    CHECK(other.detail == "the session store could not be reached in time");
}
