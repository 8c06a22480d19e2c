# The scale benchmark (scripts/bench): the real eldercare-gatewayd as a child
# process against its own mosquitto brokers, with a Paho relay as baseline.
# Each program has one job; scale_mix.hpp is the site they share.
add_executable(load_gen load_gen.cpp)
target_link_libraries(load_gen PRIVATE eg::common PahoMqttCpp::paho-mqttpp3 Threads::Threads eg_warnings)
add_executable(relay relay.cpp)
target_link_libraries(relay PRIVATE PahoMqttCpp::paho-mqttpp3 Threads::Threads eg_warnings)
add_executable(upstream_sink upstream_sink.cpp)
target_link_libraries(upstream_sink PRIVATE eg::proto PahoMqttCpp::paho-mqttpp3 Threads::Threads eg_warnings)
add_executable(scale_config scale_config.cpp)
target_link_libraries(scale_config PRIVATE eg_warnings)
add_executable(prefill_store prefill_store.cpp)
target_link_libraries(prefill_store PRIVATE eg::gateway eg::proto eg_warnings)
add_executable(ready_probe ready_probe.cpp)
target_link_libraries(ready_probe PRIVATE eg_warnings)
