// One execute request from its body file to its answer (the class lives in execute_job.cpp):
// scan and validate, read the rows from the attachment span or the download_url, map them,
// append the batches to the spool, keep the connection alive, answer - on ctx.workers for
// the CPU work and on the exchange's strand for the answer.
#pragma once

#include <memory>

#include "server/http/http_exchange.hpp"

namespace lsr::server {

class ExecuteHandler;
struct ExecuteSource;

void start_execute_job(std::shared_ptr<ExecuteHandler> handler, std::shared_ptr<HttpExchange> exchange,
                       ExecuteSource source);

}  // namespace lsr::server
