
// Node: the application's @opentelemetry/api, found as its own code would find it (an
// optional peer dependency), at the first step. Every copy of API 1.x shares one global
// registry, so the provider the application registered is the one seen here.
module.exports = createInterop(() => require("@opentelemetry/api"));
