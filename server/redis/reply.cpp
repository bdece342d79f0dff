#include "redis/reply.hpp"

namespace sessiond::redis {

std::string to_string(const reply& r) {
    switch (r.type()) {
        case reply::kind::nil:
            return "(nil)";
        case reply::kind::status:
            return "+" + std::string(r.str());
        case reply::kind::error:
            return "-" + std::string(r.str());
        case reply::kind::integer:
            return ":" + std::to_string(r.integer());
        case reply::kind::string:
            return "\"" + std::string(r.str()) + "\"";
        case reply::kind::array: {
            std::string s = "[";
            for (const auto& e : r.elements()) {
                if (s.size() > 1) s += ", ";
                s += to_string(e);
            }
            return s + "]";
        }
    }
    return "?";
}

}  // namespace sessiond::redis
