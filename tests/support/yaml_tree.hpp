#pragma once
// A reader for the block-style YAML that proto/openapi.yaml is written in:
// nested mappings, `- ` sequences, flow sequences of scalars, quoted and
// plain scalars and `|` block scalars. No anchors, tags or flow mappings;
// enough for tests that compare the OpenAPI description with the server.

#include <string>
#include <string_view>
#include <vector>

namespace sessiond::test {

struct yaml_entry;

struct yaml_node {
    std::string value;              // a scalar's text
    std::vector<yaml_entry> items;  // mapping entries; sequence entries have key "-"

    // The entry under `key`, or nullptr.
    const yaml_node* find(std::string_view key) const;
    // The node at a '/'-separated path of keys, or nullptr.
    const yaml_node* at(std::string_view path) const;
};

// A struct rather than std::pair, which needs yaml_node complete where
// yaml_node declares its items (clang with libstdc++ holds to that).
struct yaml_entry {
    std::string key;
    yaml_node node;
};

yaml_node parse_yaml(const std::string& text);

}  // namespace sessiond::test
