#include <catch2/catch.hpp>

#include <sched.h>

#include "common/cpus.hpp"

using sessiond::cpus::from_cgroup_quota;

TEST_CASE("a cgroup v2 cpu.max quota gives the CPUs it allows, rounded up") {
    CHECK(from_cgroup_quota("200000 100000\n") == 2u);
    CHECK(from_cgroup_quota("150000 100000") == 2u);
    CHECK(from_cgroup_quota("50000 100000") == 1u);
    CHECK(from_cgroup_quota("400000 100000") == 4u);
}

TEST_CASE("no quota or an unreadable cpu.max line gives no limit") {
    CHECK_FALSE(from_cgroup_quota("max 100000\n"));
    CHECK_FALSE(from_cgroup_quota(""));
    CHECK_FALSE(from_cgroup_quota("100000"));
    CHECK_FALSE(from_cgroup_quota("abc 100000"));
    CHECK_FALSE(from_cgroup_quota("100000 0"));
    CHECK_FALSE(from_cgroup_quota("0 100000"));
}

TEST_CASE("available CPUs follow this process' affinity mask") {
    cpu_set_t original;
    REQUIRE(sched_getaffinity(0, sizeof original, &original) == 0);
    const auto all = sessiond::cpus::available();
    CHECK(all >= 1u);
    CHECK(all <= static_cast<std::size_t>(CPU_COUNT(&original)));

    // Restricted to one CPU, exactly one is available, whatever the machine has.
    int first = 0;
    while (!CPU_ISSET(first, &original))
        ++first;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    const auto restricted = sessiond::cpus::available();
    REQUIRE(sched_setaffinity(0, sizeof original, &original) == 0);
    CHECK(restricted == 1u);
}
