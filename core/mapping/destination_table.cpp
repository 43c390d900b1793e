#include "core/mapping/destination_table.hpp"

#include <algorithm>

#include "core/ascii_lower.hpp"

namespace lsr::core {
namespace data {
extern const std::string_view destination_table_tsv;
}

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t from = 0;
    for (;;) {
        const std::size_t at = s.find(sep, from);
        out.push_back(s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
        if (at == std::string_view::npos) return out;
        from = at + 1;
    }
}

bool valid_atom(std::string_view atom) {
    return atom == "user_id" || atom == "email" || atom == "anonymous_id" || atom == "group_id" ||
           (atom.substr(0, 6) == "trait:" && atom.size() > 6);
}

bool atom_holds(std::string_view atom, const EventFacts& f) {
    if (atom == "user_id") return f.user_id;
    if (atom == "email") return f.email;
    if (atom == "anonymous_id") return f.anonymous_id;
    if (atom == "group_id") return f.group_id;
    if (atom.substr(0, 6) == "trait:" && f.trait_keys) {
        const std::string_view name = atom.substr(6);
        return std::find(f.trait_keys->begin(), f.trait_keys->end(), name) != f.trait_keys->end();
    }
    return false;
}

std::string atom_text(std::string_view atom) {
    if (atom == "user_id") return "userId";
    if (atom == "anonymous_id") return "anonymousId";
    if (atom == "group_id") return "context.groupId";
    if (atom.substr(0, 6) == "trait:") return "a " + std::string(atom.substr(6)) + " trait";
    return std::string(atom);
}

}  // namespace

bool Destination::ready(const EventFacts& facts) const {
    return std::all_of(requirements.begin(), requirements.end(), [&](const std::vector<std::string>& term) {
        return std::any_of(term.begin(), term.end(),
                           [&](const std::string& a) { return atom_holds(a, facts); });
    });
}

std::string Destination::requirement_text() const {
    std::string out;
    for (std::size_t t = 0; t < requirements.size(); ++t) {
        if (t) out += " and ";
        for (std::size_t a = 0; a < requirements[t].size(); ++a) {
            if (a) out += " or ";
            out += atom_text(requirements[t][a]);
        }
    }
    return out;
}

std::optional<DestinationTable> DestinationTable::parse(std::string_view tsv, std::string* error) {
    DestinationTable table;
    bool header_seen = false;
    int line_no = 0;
    for (std::string_view line : split(tsv, '\n')) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line[0] == '#') continue;
        if (!header_seen) {  // the column names
            header_seen = true;
            continue;
        }
        const auto cols = split(line, '\t');
        if (cols.size() != 7 || cols[0].empty() || cols[5].empty()) {
            if (error) *error = "destinations.tsv line " + std::to_string(line_no) + ": expected 7 columns";
            return std::nullopt;
        }
        Destination d;
        d.slug = cols[0];
        d.email_column = cols[1];
        d.user_id_column = cols[2];
        d.either_column = cols[3];
        d.note = cols[4];
        d.integration_name = cols[5];
        d.requires_text = cols[6];
        for (std::string_view term : split(cols[6], '+')) {
            std::vector<std::string> alternatives;
            for (std::string_view atom : split(term, '|')) {
                if (!valid_atom(atom)) {
                    if (error)
                        *error = "destinations.tsv line " + std::to_string(line_no) + ": bad requirement '" +
                                 std::string(atom) + "'";
                    return std::nullopt;
                }
                alternatives.emplace_back(atom);
            }
            d.requirements.push_back(std::move(alternatives));
        }
        table.destinations_.push_back(std::move(d));
    }
    return table;
}

const DestinationTable& DestinationTable::builtin() {
    static const DestinationTable table = parse(data::destination_table_tsv).value_or(DestinationTable{});
    return table;
}

const Destination* DestinationTable::find(std::string_view name) const {
    const std::string wanted = ascii_lower(name);
    for (const Destination& d : destinations_) {
        const std::string slug = ascii_lower(d.slug);
        if (slug == wanted || ascii_lower(d.integration_name) == wanted) return &d;
        // "braze (previously appboy)" answers to "braze" and "appboy".
        const auto paren = slug.find(" (previously ");
        if (paren != std::string::npos) {
            if (slug.substr(0, paren) == wanted) return &d;
            std::string old = slug.substr(paren + 13);
            if (!old.empty() && old.back() == ')') old.pop_back();
            if (old == wanted) return &d;
        }
    }
    return nullptr;
}

}  // namespace lsr::core
