// @herald/platform/testing: what tests and the bench build by hand (services get these from
// runService). Nothing in the runtime or the model imports this folder (layers.test.ts checks).
export { amqpConnectionOptions } from "../amqp/urls.js";
export { connectMongo, type MongoHandle } from "../mongo.js";
export { type RpcServer, startRpcServer } from "../rpc/server.js";
export { openTestBroker, receiveMessages, type TestBroker } from "./broker.js";
export { testEndpoint, testEventType, testTenant } from "./documents.js";
export { cleanupTestEnv, TEST_ADMIN_KEY, TEST_SECRET_KEYS, testEnv } from "./env.js";
export { explainRead, type ReadPlan, type RecordedRead, recordReads } from "./query-plans.js";
export { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";
export { makeTestCertificates, type TestCertificates } from "./tls.js";
export { enableTracePropagation, inTestTrace, testTraceparent } from "./tracing.js";
