// The errors proto/openapi.yaml promises and the server's error table
// (common/error.cpp) are the same: every code the server can send is
// documented with its status, and every code and status the description
// promises is one the server sends.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "common/error.hpp"
#include "support/process.hpp"
#include "support/yaml_tree.hpp"

using namespace sessiond;
using test::yaml_node;

namespace {

std::vector<error> all_errors() {
    std::vector<error> out;
    for (int i = 1; i <= static_cast<int>(error::internal_error); ++i)
        out.push_back(static_cast<error>(i));
    return out;
}

// The table's entry for a problem code, or nullptr.
const problem_kind* kind_of(const std::string& code) {
    for (auto e : all_errors())
        if (problem_for(e).code == code) return &problem_for(e);
    return nullptr;
}

const yaml_node& spec() {
    static const yaml_node root =
        test::parse_yaml(test::read_file(std::string(SESSIOND_SOURCE_DIR) + "/proto/openapi.yaml"));
    return root;
}

std::vector<std::string> scalars(const yaml_node* list) {
    std::vector<std::string> out;
    if (list)
        for (const auto& [k, v] : list->items)
            out.push_back(v.value);
    return out;
}

// A response's application/problem+json content (its media type holds a
// '/', so it cannot be part of an at() path), or nullptr.
const yaml_node* problem_content(const yaml_node& response) {
    const auto* content = response.find("content");
    return content ? content->find("application/problem+json") : nullptr;
}

// The status and codes a problem response component pins down with `const`
// or `enum` in its schema (allOf: [Problem, {properties: ...}]).
struct promised {
    unsigned status = 0;
    std::vector<std::string> codes;
};

promised promise_of(const yaml_node& response) {
    promised out;
    const auto* all_of = problem_content(response) ? problem_content(response)->at("schema/allOf") : nullptr;
    if (!all_of) return out;
    for (const auto& [dash, part] : all_of->items) {
        if (const auto* s = part.at("properties/status/const"))
            out.status = static_cast<unsigned>(std::stoul(s->value));
        if (const auto* c = part.at("properties/code/const")) out.codes.push_back(c->value);
        for (const auto& c : scalars(part.at("properties/code/enum")))
            out.codes.push_back(c);
    }
    return out;
}

}  // namespace

TEST_CASE("every error the server can send is documented with its status") {
    const auto* problem_code = spec().at("components/schemas/ProblemCode");
    REQUIRE(problem_code);
    auto documented = scalars(problem_code->find("enum"));
    const auto* statuses = problem_code->find("x-code-status");
    REQUIRE(statuses);
    for (auto e : all_errors()) {
        const auto& kind = problem_for(e);
        INFO(kind.code);
        CHECK(std::count(documented.begin(), documented.end(), std::string(kind.code)) == 1);
        const auto* status = statuses->find(kind.code);
        REQUIRE(status);
        CHECK(status->value == std::to_string(kind.status));
        // The table in the description, for people.
        CHECK_THAT(problem_code->find("description")->value,
                   Catch::Contains("| `" + std::string(kind.code) + "` | " + std::to_string(kind.status) + " |"));
    }
}

TEST_CASE("every error code and status the OpenAPI promises is in the server's table") {
    const auto* problem_code = spec().at("components/schemas/ProblemCode");
    REQUIRE(problem_code);
    auto documented = scalars(problem_code->find("enum"));
    // Some errors share a code (a write the replicas did not acknowledge is
    // store_unavailable, with its own detail): the codes are what callers see.
    std::set<std::string_view> codes;
    for (auto e : all_errors())
        codes.insert(problem_for(e).code);
    CHECK(documented.size() == codes.size());
    for (const auto& code : documented) {
        INFO(code);
        CHECK(kind_of(code));
    }
    for (const auto& [code, status] : problem_code->find("x-code-status")->items) {
        INFO(code);
        const auto* kind = kind_of(code);
        REQUIRE(kind);
        CHECK(std::to_string(kind->status) == status.value);
    }

    const auto* responses = spec().at("components/responses");
    REQUIRE(responses);
    std::size_t pinned = 0;
    for (const auto& [name, response] : responses->items) {
        INFO(name);
        auto p = promise_of(response);
        for (const auto& code : p.codes) {
            INFO(code);
            const auto* kind = kind_of(code);
            REQUIRE(kind);
            CHECK(kind->status == p.status);
            ++pinned;
        }
        // An example is what the server sends, type and title included.
        const auto* problem = problem_content(response);
        if (const auto* example = problem ? problem->find("example") : nullptr) {
            const auto* kind = kind_of(example->find("code")->value);
            REQUIRE(kind);
            CHECK(example->find("status")->value == std::to_string(kind->status));
            CHECK(example->find("title")->value == kind->title);
            CHECK(example->find("type")->value == "urn:sessiond:problem:" + std::string(kind->code));
        }
    }
    CHECK(pinned >= all_errors().size() - 1);

    // Each operation lists a problem response under the status it promises.
    for (const auto& [path, item] : spec().find("paths")->items)
        for (const auto& [method, op] : item.items)
            if (const auto* op_responses = op.find("responses"))
                for (const auto& [status, response] : op_responses->items) {
                    const auto* ref = response.find("$ref");
                    if (!ref || status == "default") continue;
                    INFO(method << " " << path << " " << status << " " << ref->value);
                    auto name = ref->value.substr(ref->value.rfind('/') + 1);
                    const auto* component = responses->find(name);
                    REQUIRE(component);
                    CHECK(std::to_string(promise_of(*component).status) == status);
                }
}

TEST_CASE("every error in the table is one the server sends") {
    // Read from the sources: an error nothing raises is a promise nobody keeps.
    std::string sources;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(std::string(SESSIOND_SOURCE_DIR) + "/server")) {
        auto p = entry.path();
        if (p.extension() != ".cpp" && p.extension() != ".hpp") continue;
        if (p.parent_path().filename() == "common" && p.stem() == "error") continue;
        sources += test::read_file(p.string());
    }
    for (auto e : all_errors()) {
        std::string name(problem_for(e).code);
        INFO(name);
        CHECK_THAT(sources, Catch::Contains("error::" + name));
    }
}
