#pragma once
// A history checker for the topology tests: a test client records every
// request it makes (which instance, which session, when it was sent and
// answered, what came back) while nodes fail over, slots move and links die;
// check() then holds the history to what sessiond promises:
//  - no validation that was *sent* after a revocation of its session was
//    *acknowledged* (204, through any instance) answers 200, on any instance;
//  - no session the client did not revoke is ever refused (401) or unknown:
//    the client only presents a session's current token, so a refusal (a
//    reuse revocation, a lost create or rotation) is one the history does
//    not explain;
//  - the largest delay from a revocation's acknowledgement to a refusal by
//    another instance that the client probed right after it.
// Sessions whose fate the client cannot know (a rotation or revocation
// answered 503 to the end) are marked uncertain and held to neither rule.

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace sessiond::test {

class history {
public:
    using clock = std::chrono::steady_clock;
    enum class kind { create, validate, rotate, revoke };

    struct op {
        kind what = kind::validate;
        int instance = 0;
        int session = 0;  // the client's own number for the session
        clock::time_point sent{};
        clock::time_point answered{};
        int status = 0;
        std::string code;    // problem+json code, if any
        bool probe = false;  // a validation sent right after a revocation, on another instance
    };

    struct verdict {
        std::vector<std::string> violations;
        std::map<int, int> statuses;  // every answer by status
        std::size_t revocations = 0;  // acknowledged
        std::size_t probes = 0;       // validations right after one, on another instance
        clock::duration max_revoke_to_refusal{};
    };

    void record(op o);
    void uncertain(int session);
    verdict check() const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::vector<op> ops_;
    std::set<int> uncertain_;
};

}  // namespace sessiond::test
