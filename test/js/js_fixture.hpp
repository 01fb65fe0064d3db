#pragma once
// A runtime with JS classes registered from source, and calls into them.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <boost/json.hpp>

#include <cairn/js/registry.hpp>
#include <cairn/runtime.hpp>

#include "../support.hpp"

namespace cairn_test {

namespace json = boost::json;

struct js_world {
  explicit js_world(unsigned shards = 2, cairn::durability durability = cairn::durability::normal)
      : rt(options(dir, shards, durability)), js(rt) {}

  static cairn::runtime_options options(const temp_dir& d, unsigned n,
                                        cairn::durability durability = cairn::durability::normal) {
    auto o = cairn_test::shards(n);
    o.data_dir = d.path();
    o.durability = durability;
    o.on_unhandled_error = [](std::exception_ptr, std::string_view) {};
    return o;
  }

  /// Registers `source` (module "main.js") exporting `cls` as namespace `name`.
  cairn::actor_namespace<cairn::js::js_actor> add(const std::string& name, const std::string& cls,
                                                   const std::string& source,
                                                   std::map<std::string, std::string> bindings = {}) {
    cairn::js::js_class c;
    c.modules["main.js"] = source;
    c.main = "main.js";
    c.class_name = cls;
    c.bindings = std::move(bindings);
    c.limits = limits;
    return js.add(name, std::move(c));
  }

  json::value call(cairn::actor_namespace<cairn::js::js_actor> ns, const std::string& name, const std::string& method,
                   json::array args = {}) {
    return rt.block_on(cairn::js::call(ns.get(name), method, std::move(args)));
  }

  /// The message of what call() threw ("" if it did not throw).
  std::string error_of(cairn::actor_namespace<cairn::js::js_actor> ns, const std::string& name,
                       const std::string& method, json::array args = {}) {
    try {
      call(ns, name, method, std::move(args));
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  temp_dir dir;
  cairn::runtime rt;
  cairn::js::registry js;
  cairn::js::js_limits limits;  // of the classes add() registers from now on
};

/// A module file of the repository (CAIRN_SOURCE_DIR), e.g. an example.
inline std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(CAIRN_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace cairn_test
