// Command boxoffice is the seat reservation server and its tools:
//
//	boxoffice serve          run a node (HTTP API, show actors, journal)
//	boxoffice sim seat-race  contention scenarios, in process or against --target
//	boxoffice load SCENARIO  HTTP load generator with reports
//	boxoffice consume KIND   a payment or notification consumer reading RocketMQ
package main
