#include "app/spool_stats_command.hpp"

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "app/cli_text.hpp"
#include "core/json_out.hpp"
#include "core/text.hpp"
#include "server/storage/spool.hpp"

namespace lsr::app {

namespace {

constexpr std::size_t kDefaultLimit = 100;

// "key":value for an integer, after a comma unless it is the object's first member.
template <class Integer>
void member(core::JsonOut& j, std::string_view key, Integer value, bool first = false) {
    if (!first) j.raw(',');
    j.key(key);
    j.raw(std::to_string(value));
}

void member(core::JsonOut& j, std::string_view key, std::string_view text, bool first = false) {
    if (!first) j.raw(',');
    j.key(key);
    j.string(core::valid_utf8_text(text));
}

}  // namespace

int run_spool_stats(server::Spool& spool, const SpoolCommandLine& o, const core::Clock& clock) {
    const auto st = spool.stats();
    const std::int64_t now = clock.unix_ms();
    const std::int64_t oldest_age_ms = st.oldest_created_ms == 0 ? 0 : now - st.oldest_created_ms;
    if (o.json) {
        std::string out;
        core::JsonOut j(out);
        j.raw('{');
        member(j, "path", std::string_view(spool.path()), true);
        member(j, "batches", st.batches);
        member(j, "events", st.events);
        member(j, "bytes", st.bytes);
        member(j, "max_bytes", spool.max_bytes());
        member(j, "dead_letters", st.dead_letters);
        member(j, "dead_letter_events", st.dead_letter_events);
        member(j, "oldest_created_ms", st.oldest_created_ms);
        member(j, "oldest_age_s", oldest_age_ms / 1000);
        member(j, "file_bytes", st.file_bytes);
        j.raw("}\n");
        std::cout << out;
        return 0;
    }
    std::cout << "spool         " << spool.path() << "\n"
              << "batches       " << st.batches << " (" << st.events << " events, "
              << CliText::human_bytes(st.bytes) << " of " << CliText::human_bytes(spool.max_bytes())
              << " allowed)\n"
              << "oldest event  "
              << (st.oldest_created_ms == 0 ? std::string("-")
                                            : CliText::human_age(oldest_age_ms) + " old (" +
                                                  CliText::iso_utc(st.oldest_created_ms) + ")")
              << "\n"
              << "dead letters  " << st.dead_letters << " (" << st.dead_letter_events << " events)\n"
              << "file size     " << CliText::human_bytes(st.file_bytes) << "\n";
    return 0;
}

int run_spool_dead_letters(server::Spool& spool, const SpoolCommandLine& o, const core::Clock& clock) {
    const std::size_t limit = o.limit.value_or(kDefaultLimit);
    const auto letters = spool.list_dead_letters(limit, false);
    const auto total = spool.stats().dead_letters;
    const std::int64_t now = clock.unix_ms();
    if (o.json) {
        std::string out;
        core::JsonOut j(out);
        j.raw('{');
        member(j, "total", total, true);
        j.raw(',');
        j.key("dead_letters");
        j.raw('[');
        bool first = true;
        for (const auto& d : letters) {
            if (!first) j.raw(',');
            first = false;
            j.raw('{');
            member(j, "id", d.id, true);
            member(j, "write_key", std::string_view(CliText::key_prefix(d.write_key)));
            member(j, "status", d.status);
            member(j, "reason", std::string_view(d.reason));
            member(j, "events", d.events);
            member(j, "attempts", d.attempts);
            member(j, "created_ms", d.created_ms);
            member(j, "dead_ms", d.dead_ms);
            member(j, "age_s", (now - d.created_ms) / 1000);
            j.raw('}');
        }
        j.raw("]}\n");
        std::cout << out;
        return 0;
    }
    if (letters.empty()) {
        std::cout << "no dead letters\n";
        return 0;
    }
    char line[256];
    std::snprintf(line, sizeof line, "%-8s %-9s %-6s %8s %9s %-10s %s\n", "ID", "WRITE KEY", "STATUS",
                  "EVENTS", "ATTEMPTS", "AGE", "REASON");
    std::cout << line;
    for (const auto& d : letters) {
        const std::string status = d.status == 0 ? "-" : std::to_string(d.status);
        // The ellipsis is 3 bytes and 1 column: pad by hand.
        std::string key = CliText::key_prefix(d.write_key);
        const std::size_t columns = d.write_key.substr(0, 4).size() + 1;
        key.append(columns < 9 ? 9 - columns : 0, ' ');
        std::snprintf(line, sizeof line, "%-8lld %s %-6s %8u %9u %-10s ", static_cast<long long>(d.id),
                      key.c_str(), status.c_str(), d.events, d.attempts,
                      CliText::human_age(now - d.created_ms).c_str());
        std::cout << line << CliText::one_line(d.reason, 120) << "\n";
    }
    if (total > letters.size()) {
        std::cout << "(" << letters.size() << " of " << total << " shown; --limit N for more)\n";
    }
    return 0;
}

}  // namespace lsr::app
