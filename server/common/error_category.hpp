#pragma once
// An error_category for an error enum: a name and a function that describes
// each value. Every layer's error enum uses it instead of a category class
// of its own.

#include <boost/system/error_category.hpp>

#include <string>

namespace sessiond {

template <class Enum>
class enum_category final : public boost::system::error_category {
public:
    using describe_fn = const char* (*)(Enum) noexcept;

    enum_category(const char* name, describe_fn describe) noexcept : name_(name), describe_(describe) {}

    const char* name() const noexcept override { return name_; }
    std::string message(int ev) const override { return describe_(static_cast<Enum>(ev)); }

private:
    const char* name_;
    describe_fn describe_;
};

}  // namespace sessiond
