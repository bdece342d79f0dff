#pragma once
// Lets Catch print a boost::system::result: "value", or the error message.
// (Boost's own operator<< needs an operator<< for the value type.)

#include <catch2/catch.hpp>

#include <boost/system/result.hpp>

#include <string>

namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T>> {
    static std::string convert(const boost::system::result<T>& r) {
        return r ? std::string("value") : "error: " + r.error().message();
    }
};
}  // namespace Catch
