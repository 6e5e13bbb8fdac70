// Package rmqtest runs a real Apache RocketMQ name server and broker on
// loopback for tests, through scripts/rocketmq-local (Java and Maven needed;
// the jars are fetched once from Maven Central and cached).
//
// Callers' duties: start one broker per package (TestMain + Launch, or Start
// in a test), stop it at the end (Stop, or the func Start returns), and give
// every test its own topic and groups (CreateTopic), since the broker is
// shared. Starting takes 10-60 s depending on the machine's load.
//
// A Broker is safe for concurrent use; KillBroker and RestartBroker change
// what all its users see.
package rmqtest
