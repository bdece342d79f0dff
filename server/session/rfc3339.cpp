#include "session/rfc3339.hpp"

#include <algorithm>
#include <chrono>

namespace sessiond::session {

namespace {

void put_digits(char* p, unsigned v, int n) noexcept {
    for (int i = n - 1; i >= 0; --i, v /= 10)
        p[i] = static_cast<char>('0' + v % 10);
}

}  // namespace

void format_rfc3339(timestamp t, std::span<char, rfc3339_size> out) noexcept {
    using namespace std::chrono;
    t = std::clamp(t, min_timestamp, max_timestamp);
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    char* p = out.data();
    put_digits(p, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
    p[4] = '-';
    put_digits(p + 5, static_cast<unsigned>(ymd.month()), 2);
    p[7] = '-';
    put_digits(p + 8, static_cast<unsigned>(ymd.day()), 2);
    p[10] = 'T';
    put_digits(p + 11, static_cast<unsigned>(hms.hours().count()), 2);
    p[13] = ':';
    put_digits(p + 14, static_cast<unsigned>(hms.minutes().count()), 2);
    p[16] = ':';
    put_digits(p + 17, static_cast<unsigned>(hms.seconds().count()), 2);
    p[19] = '.';
    put_digits(p + 20, static_cast<unsigned>(hms.subseconds().count()), 3);
    p[23] = 'Z';
}

std::string format_rfc3339(timestamp t) {
    std::string out(rfc3339_size, '\0');
    format_rfc3339(t, std::span<char, rfc3339_size>(out.data(), rfc3339_size));
    return out;
}

}  // namespace sessiond::session
