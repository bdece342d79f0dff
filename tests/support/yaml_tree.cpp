#include "support/yaml_tree.hpp"

#include <sstream>
#include <stdexcept>

namespace sessiond::test {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::string unquote(std::string_view s) {
    s = trim(s);
    if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
        return std::string(s.substr(1, s.size() - 2));
    return std::string(s);
}

std::size_t indent_of(const std::string& line) {
    return line.find_first_not_of(' ');
}

struct open_node {
    std::size_t indent;
    yaml_node* node;
};

class reader {
public:
    explicit reader(const std::string& text) {
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line))
            lines_.push_back(line);
    }

    yaml_node run() {
        yaml_node root;
        stack_.push_back({0, &root});
        for (i_ = 0; i_ < lines_.size(); ++i_) {
            const auto& line = lines_[i_];
            auto indent = indent_of(line);
            if (indent == std::string::npos || line[indent] == '#') continue;
            entry(indent + 1, std::string_view(line).substr(indent));  // root children sit at depth 1
        }
        return root;
    }

private:
    // One entry at `depth` (indent + 1, so the root is at depth 0).
    void entry(std::size_t depth, std::string_view text) {
        while (stack_.size() > 1 && stack_.back().indent >= depth)
            stack_.pop_back();
        yaml_node& parent = *stack_.back().node;
        if (text.rfind("- ", 0) == 0 || text == "-") {
            parent.items.push_back({"-", yaml_node{}});
            stack_.push_back({depth, &parent.items.back().node});
            auto rest = trim(text.substr(1));
            if (rest.empty()) return;
            if (split(rest).first.empty())
                stack_.back().node->value = unquote(rest);
            else
                entry(depth + 2, rest);  // "- key: value" opens a mapping in the item
            return;
        }
        auto [key, value] = split(text);
        if (key.empty()) throw std::runtime_error("yaml: cannot read line " + std::to_string(i_ + 1));
        parent.items.push_back({unquote(key), yaml_node{}});
        yaml_node& node = parent.items.back().node;
        stack_.push_back({depth, &node});
        value = trim(value);
        if (!value.empty() && (value[0] == '|' || value[0] == '>')) {
            node.value = block(depth);
        } else if (value.size() >= 2 && value.front() == '[' && value.back() == ']') {
            std::istringstream in(std::string(value.substr(1, value.size() - 2)));
            std::string item;
            while (std::getline(in, item, ','))
                if (!trim(item).empty()) node.items.push_back({"-", yaml_node{unquote(item), {}}});
        } else {
            node.value = unquote(value);
        }
    }

    // "key: value" or "key:" (the key may be quoted); an empty key if the
    // text is not a mapping entry.
    static std::pair<std::string_view, std::string_view> split(std::string_view text) {
        std::size_t from = 0;
        if (!text.empty() && (text[0] == '\'' || text[0] == '"')) {
            from = text.find(text[0], 1);
            if (from == std::string_view::npos) return {};
        }
        auto colon = text.find(": ", from);
        if (colon == std::string_view::npos) {
            if (!text.empty() && text.back() == ':') return {text.substr(0, text.size() - 1), {}};
            return {};
        }
        return {text.substr(0, colon), text.substr(colon + 2)};
    }

    // The lines of a block scalar: those indented deeper than its key (at
    // `depth` - 1), with that common indentation removed.
    std::string block(std::size_t depth) {
        std::string out;
        std::size_t strip = std::string::npos;
        while (i_ + 1 < lines_.size()) {
            const auto& next = lines_[i_ + 1];
            auto indent = indent_of(next);
            if (indent != std::string::npos && indent + 1 <= depth) break;
            ++i_;
            if (indent == std::string::npos) {
                out += '\n';
                continue;
            }
            if (strip == std::string::npos) strip = indent;
            out += next.substr(std::min(strip, indent));
            out += '\n';
        }
        return out;
    }

    std::vector<std::string> lines_;
    std::vector<open_node> stack_;
    std::size_t i_ = 0;
};

}  // namespace

const yaml_node* yaml_node::find(std::string_view key) const {
    for (const auto& [k, v] : items)
        if (k == key) return &v;
    return nullptr;
}

const yaml_node* yaml_node::at(std::string_view path) const {
    const yaml_node* n = this;
    while (n && !path.empty()) {
        auto slash = path.find('/');
        n = n->find(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    return n;
}

yaml_node parse_yaml(const std::string& text) {
    return reader(text).run();
}

}  // namespace sessiond::test
