#include "mqtt_client.hpp"

#include "eg/common/tcp_nodelay.hpp"

namespace eg::test {

TestMqttClient::TestMqttClient(const std::string& uri, const std::string& client_id, bool persistent)
    : client_(std::make_unique<mqtt::async_client>(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1))) {
  mqtt::connect_options options;
  options.set_clean_session(!persistent);
  if (persistent) options.set_automatic_reconnect(std::chrono::milliseconds(100), std::chrono::seconds(1));
  connect(std::move(options));
}

TestMqttClient::TestMqttClient(const std::string& uri, const std::string& client_id, const User& user)
    : client_(std::make_unique<mqtt::async_client>(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1))) {
  mqtt::connect_options options;
  options.set_clean_session(true);
  options.set_user_name(user.name);
  options.set_password(user.password);
  connect(std::move(options));
}

void TestMqttClient::connect(mqtt::connect_options options) {
  options.set_connect_timeout(5);
  client_->start_consuming();
  client_->connect(options)->wait();
  eg::set_nodelay_on_tcp_sockets();
}

TestMqttClient::~TestMqttClient() {
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
    // The broker may already be gone at teardown.
  }
}

void TestMqttClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  client_->publish(mqtt::make_message(topic, payload, qos, retain))->wait();
}

void TestMqttClient::subscribe(const std::string& filter, int qos) {
  client_->subscribe(filter, qos)->wait();
}

std::optional<ReceivedMessage> TestMqttClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    mqtt::const_message_ptr message;
    if (!client_->try_consume_message_for(&message, left)) return std::nullopt;
    // Paho queues an empty message when the connection drops; a persistent
    // client reconnects by itself, so keep waiting for real ones.
    if (message) return ReceivedMessage{message->get_topic(), message->get_payload_str(), message->is_retained()};
  }
}

}  // namespace eg::test
