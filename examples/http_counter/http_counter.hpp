#pragma once
// A durable counter reached over HTTP: one actor per name, its value in the
// actor's own database.
//
//   GET    /counter/<name>        the value
//   POST   /counter/<name>        adds 1 (or the integer in the body) and returns the new value
//   DELETE /counter/<name>        back to 0
#include <charconv>
#include <cstdint>
#include <string>

#include <cairn/cairn.hpp>
#include <cairn/http/message.hpp>
#include <cairn/storage.hpp>

namespace examples {

class http_counter : public cairn::actor {
 public:
  cairn::task<cairn::http::response> fetch(cairn::http::request req) {
    using cairn::http::make_response;
    using cairn::http::status;
    using cairn::http::verb;
    auto value = storage().get_as<std::int64_t>("value").value_or(0);
    switch (req.method()) {
      case verb::get:
      case verb::head:
        break;
      case verb::post: {
        std::int64_t step = 1;
        const std::string& body = req.body();
        if (!body.empty()) {
          auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), step);
          if (ec != std::errc() || p != body.data() + body.size())
            co_return make_response(status::bad_request, "the body must be an integer\n");
        }
        value += step;
        storage().put("value", value);  // durable before the response leaves
        break;
      }
      case verb::delete_:
        value = 0;
        storage().remove("value");
        break;
      default:
        co_return make_response(status::method_not_allowed, "GET, POST or DELETE\n");
    }
    co_return make_response(status::ok, std::to_string(value) + "\n");
  }
};

}  // namespace examples
