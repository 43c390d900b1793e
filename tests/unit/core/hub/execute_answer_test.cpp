#include "core/hub/execute_answer.hpp"

#include <catch2/catch.hpp>

using lsr::core::ExecuteAnswer;

TEST_CASE("execute answer: failure texts shared by serve and preview", "[answer]") {
    CHECK(ExecuteAnswer::failure_message(
              "Query requires a field tagged email or user_id or segment_anonymous_id.", 0) ==
          "Query requires a field tagged email or user_id or segment_anonymous_id. No rows were accepted.");
    CHECK(ExecuteAnswer::failure_message("Field id u.x does not exist for JsonDetail.Row", 1) ==
          "Field id u.x does not exist for JsonDetail.Row. 1 row was accepted before that and will be "
          "delivered.");
    CHECK(ExecuteAnswer::failure_message("", 3) ==
          "The result could not be processed. 3 rows were accepted before that and will be delivered.");
}
