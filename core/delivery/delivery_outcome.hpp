// What to do with a batch after one attempt to send it to Segment: one table, used by the
// dispatcher and tested exhaustively (tests/unit/core/delivery/delivery_outcome_test.cpp).
//
//   2xx                                   -> done
//   network error, timeout (status 0)     -> retry
//   408, 429                              -> retry
//   410, 460                              -> retry  (Segment's SDKs treat both as transient)
//   5xx except 501 and 505                -> retry  (511 included, see below)
//   3xx, 1xx, >= 600                      -> retry  (redirects are not followed; see below)
//   400, 413 with more than one event     -> split  (halves, until bad events stand alone)
//   400, 413 with one event (or none)     -> dead_letter
//   every other 4xx, 501, 505             -> dead_letter
//
// Choices where the sources disagree (reference/segment-http-api.md §3.3, §4.7):
// - 410 and 460 are retried, as the current Node and Java SDKs do; the API does not document
//   either, and retrying costs at most the give-up age while dead-lettering would lose the
//   batch to an edge hiccup.
// - 511 is retried. The SDKs that refuse to retry it do so because of OAuth tokens; the relay
//   uses Basic auth only, so a 511 comes from a proxy on the way and goes away when the proxy
//   is fixed. Retrying keeps the events in the spool until then (bounded by the give-up age).
// - 3xx (and codes outside 1xx-5xx) are retried: a redirect means the endpoint is
//   misconfigured, which is an operator fix, not a property of the batch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lsr::core {

enum class DeliveryAction { done, retry, split, dead_letter };

std::string_view to_string(DeliveryAction action);

class DeliveryOutcome {
  public:
    // status: the HTTP status, or 0 when no answer came (network error or timeout).
    // events: how many events the batch held.
    static DeliveryAction classify(int status, std::uint32_t events);

    // Label for metrics: "1xx" .. "5xx", "network" for status 0, "other" otherwise.
    static std::string_view status_class(int status);

    // A short reason stored with a dead letter or as a batch's last error:
    // "http_<status>" or, for status 0, "network: <detail>".
    static std::string reason(int status, std::string_view detail);
};

}  // namespace lsr::core
