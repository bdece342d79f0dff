// The bounded file reader behind every secret, key, PEM and config file:
// regular files only, never blocking on a FIFO, never reading more than the
// limit of its kind plus one byte.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/secret_file.hpp"
#include "support/process.hpp"

using namespace sessiond;

TEST_CASE("read_secret_file refuses what is not a regular file without reading from it", "[secret_file]") {
    test::temp_dir dir;
    SECTION("a FIFO with no writer: refused at once, not waited on") {
        REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
        auto read = read_secret_file(dir.file("fifo"));
        REQUIRE_FALSE(read);
        CHECK(read.error() == file_errc::not_regular);
    }
    SECTION("/dev/zero: refused, not read without end") {
        auto read = read_secret_file("/dev/zero", list_file_max_bytes);
        REQUIRE_FALSE(read);
        CHECK(read.error() == file_errc::not_regular);
    }
    SECTION("a directory") {
        auto read = read_secret_file(dir.path());
        REQUIRE_FALSE(read);
        CHECK(read.error() == file_errc::not_regular);
    }
}

TEST_CASE("read_secret_file refuses a file over the limit of its kind, and reads one at it", "[secret_file]") {
    test::temp_dir dir;
    SECTION("a file of the limit's size, line breaks included, is read") {
        test::write_file(dir.file("at"), std::string(99, 'k') + "\n");
        auto read = read_secret_file(dir.file("at"), 100);
        REQUIRE(read);
        CHECK(*read == std::string(99, 'k'));
    }
    SECTION("one byte more is refused") {
        test::write_file(dir.file("over"), std::string(101, 'k'));
        auto read = read_secret_file(dir.file("over"), 100);
        REQUIRE_FALSE(read);
        CHECK(read.error() == file_errc::too_large);
    }
    SECTION("a 300 MB file is refused by its size, before it is read") {
        const int fd = ::open(dir.file("huge").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, 300L * 1000 * 1000) == 0);  // sparse: costs no disk
        ::close(fd);
        auto read = read_secret_file(dir.file("huge"));
        REQUIRE_FALSE(read);
        CHECK(read.error() == file_errc::too_large);
        auto list = read_secret_file(dir.file("huge"), list_file_max_bytes);
        REQUIRE_FALSE(list);
        CHECK(list.error() == file_errc::too_large);
    }
    SECTION("the default limit is the key files' 1 MiB") {
        test::write_file(dir.file("mib"), std::string(secret_file_max_bytes, 'k'));
        CHECK(read_secret_file(dir.file("mib")));
        test::write_file(dir.file("mib+1"), std::string(secret_file_max_bytes + 1, 'k'));
        CHECK_FALSE(read_secret_file(dir.file("mib+1")));
        CHECK(read_secret_file(dir.file("mib+1"), list_file_max_bytes));
    }
}

TEST_CASE("file_error_text names the option, the path and the reason, with the limit", "[secret_file]") {
    const auto text =
        file_error_text("api-keys-file", "/run/keys", make_error_code(file_errc::too_large), list_file_max_bytes);
    CHECK(text ==
          "cannot read the file of 'api-keys-file': /run/keys: larger than the limit for this kind of file "
          "(4 MiB)");
    CHECK_THAT(file_error_text("token-keys-file", "/dev/zero", make_error_code(file_errc::not_regular)),
               Catch::Contains("'token-keys-file': /dev/zero: not a regular file"));
}
