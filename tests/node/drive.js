// Drives Postmark's official Node.js SDK (postmark.js, pinned in package.json) against a
// running Postlane, for tests/conformance/test_postmark_js.py.
//
//   node drive.js <api-base-url> <server-token> <account-token> <scenario> [json-args]
//
// A scenario is a fixed series of SDK calls. It prints one JSON object on stdout:
// {"results": {step: value}, "types": {step: declared response type}, "error": null}
// where each value is what the SDK's promise resolved to, and the type is the one its
// TypeScript signature declares (dist/client/models), for the test to check against.
// The first call that rejects stops the scenario: "error" then holds the SDK's error
// (its class name, message, Postmark ErrorCode and HTTP status).
"use strict";

const postmark = require("postmark");

const [baseUrl, serverToken, accountToken, scenarioName, rawArgs] = process.argv.slice(2);
const args = rawArgs ? JSON.parse(rawArgs) : {};
const url = new URL(baseUrl);
// postmark.js builds its base URL from these two options only (HttpClient.getBaseHttpRequestURL).
const options = { useHttps: url.protocol === "https:", requestHost: url.host, timeout: 30 };
const server = new postmark.ServerClient(serverToken, options);
const account = new postmark.AccountClient(accountToken, options);

const results = {};
const types = {};

async function step(name, type, call) {
  results[name] = await call();
  types[name] = type;
  return results[name];
}

const from = "sender@example.com";

const scenarios = {
  async templates() {
    // Postmark answers a create with the short form (postmark.js declares the full one).
    await step("createLayout", "TemplateInList", () => server.createTemplate({
      Name: "JS layout", Alias: "js-layout", TemplateType: postmark.Models.TemplateTypes.Layout,
      HtmlBody: "<html><body>{{{ @content }}}</body></html>" }));
    const made = await step("createTemplate", "TemplateInList", () => server.createTemplate({
      Name: "JS hello", Alias: "js-hello", Subject: "Hi {{name}}", LayoutTemplate: "js-layout",
      HtmlBody: "<p>Hello {{name}}</p>", TextBody: "Hello {{name}}" }));
    await step("validateTemplate", "TemplateValidation", () => server.validateTemplate({
      Subject: "Hi {{name}}", HtmlBody: "{{#each items}}", TextBody: "{{name}}",
      TestRenderModel: { name: "Ann" } }));
    await step("sendEmailWithTemplate", "MessageSendingResponse",
      () => server.sendEmailWithTemplate({ From: from, To: "js-template@example.com",
        TemplateAlias: "js-hello", TemplateModel: { name: "Ann" } }));
    await step("sendEmailBatchWithTemplates", "MessageSendingResponse[]",
      () => server.sendEmailBatchWithTemplates([
        { From: from, To: "js-t1@example.com", TemplateId: made.TemplateId,
          TemplateModel: { name: "One" } },
        { From: from, To: "js-t2@example.com", TemplateAlias: "js-hello",
          TemplateModel: { name: "Two" } }]));
    await step("pushTemplates", "TemplatesPush", () => account.pushTemplates({
      SourceServerID: args.source, DestinationServerID: args.destination,
      PerformChanges: true }));
  },
  async send() {
    await step("sendEmail", "MessageSendingResponse", () => server.sendEmail({
      From: from, To: "js@example.com", Subject: "From Node", TextBody: "Hello",
      Tag: "js", Metadata: { lang: "js" }, MessageStream: "outbound",
      TrackLinks: postmark.Models.LinkTrackingOptions.None,
    }));
    await step("sendEmailBatch", "MessageSendingResponse[]", () => server.sendEmailBatch([
      { From: from, To: "js1@example.com", Subject: "One", HtmlBody: "<p>1</p>" },
      { From: from, To: "js2@example.com", Subject: "Two", TextBody: "2",
        Attachments: [{ Name: "a.txt", Content: Buffer.from("attached").toString("base64"),
                        ContentType: "text/plain", ContentID: null }] },
      // Refused items (a suppressed recipient: 406; an invalid address: 300) are answered
      // in their place, each still a MessageSendingResponse.
      { From: from, To: args.inactive, Subject: "Inactive", TextBody: "x" },
      { From: from, To: "not-an-address", Subject: "Invalid", TextBody: "x" },
    ]));
  },

  async messages() {
    await step("getOutboundMessages", "OutboundMessages", () => server.getOutboundMessages(
      { count: 50, offset: 0, recipient: args.recipient }));
    await step("getOutboundMessagesAll", "OutboundMessages",
      () => server.getOutboundMessages({ count: 500, offset: 0 }));
    await step("getOutboundMessageDetails", "OutboundMessageDetails",
      () => server.getOutboundMessageDetails(args.messageId));
    await step("getOutboundMessageDump", "OutboundMessageDump",
      () => server.getOutboundMessageDump(args.messageId));
  },

  async bounces() {
    const bounces = await step("getBounces", "Bounces",
      () => server.getBounces({ count: 50, offset: 0 }));
    const id = bounces.Bounces[0].ID;
    await step("getBouncesFiltered", "Bounces", () => server.getBounces(
      { count: 50, offset: 0, type: postmark.Models.BounceType.SMTPApiError,
        emailFilter: "gone", messageStream: "outbound" }));
    await step("getBounce", "Bounce", () => server.getBounce(id));
    await step("getBounceDump", "BounceDump", () => server.getBounceDump(id));
    await step("getDeliveryStatistics", "DeliveryStatistics",
      () => server.getDeliveryStatistics());
    await step("activateBounce", "BounceActivationResponse", () => server.activateBounce(id));
  },

  async server() {
    await step("getServer", "Server", () => server.getServer());
    await step("editServer", "Server", () => server.editServer({ Color: "Orange" }));
  },

  async streams() {
    await step("getMessageStreams", "MessageStreams", () => server.getMessageStreams());
    await step("getMessageStream", "MessageStream", () => server.getMessageStream("outbound"));
    await step("createMessageStream", "MessageStream", () => server.createMessageStream(
      { ID: "js-news", Name: "JS News", MessageStreamType: "Broadcasts",
        Description: "From Node" }));
    await step("editMessageStream", "MessageStream", () => server.editMessageStream(
      "js-news", { Name: "JS Newsletter" }));
    await step("archiveMessageStream", "MessageStreamArchiveResponse",
      () => server.archiveMessageStream("js-news"));
    await step("unarchiveMessageStream", "MessageStreamUnarchiveResponse",
      () => server.unarchiveMessageStream("js-news"));
  },

  async suppressions() {
    const entries = { Suppressions: [{ EmailAddress: "js-gone@example.com" }] };
    await step("createSuppressions", "SuppressionStatuses",
      () => server.createSuppressions("outbound", entries));
    await step("getSuppressions", "Suppressions", () => server.getSuppressions(
      "outbound", { emailAddress: "js-gone@example.com" }));
    await step("deleteSuppressions", "SuppressionStatuses",
      () => server.deleteSuppressions("outbound", entries));
  },

  async webhooks() {
    const created = await step("createWebhook", "Webhook", () => server.createWebhook({
      Url: "http://127.0.0.1:9/js-hook", MessageStream: "outbound",
      HttpAuth: { Username: "u", Password: "p" },
      HttpHeaders: [{ Name: "X-From", Value: "node" }],
      Triggers: { Delivery: { Enabled: true }, Bounce: { Enabled: true, IncludeContent: false } },
    }));
    await step("getWebhooks", "Webhooks", () => server.getWebhooks({ messageStream: "outbound" }));
    await step("getWebhook", "Webhook", () => server.getWebhook(created.ID));
    await step("editWebhook", "Webhook", () => server.editWebhook(created.ID,
      { Url: "http://127.0.0.1:9/js-hook-2", Triggers: { Open: { Enabled: true } } }));
    await step("deleteWebhook", "DefaultResponse", () => server.deleteWebhook(created.ID));
  },

  async account() {
    await step("getServers", "Servers", () => account.getServers({ count: 50, offset: 0 }));
    const created = await step("createServer", "Server", () => account.createServer(
      { Name: "From Node", Color: "Blue", DeliveryType: "Sandbox" }));
    await step("getServer", "Server", () => account.getServer(created.ID));
    await step("editServer", "Server", () => account.editServer(created.ID,
      { Name: "From Node 2" }));
    await step("deleteServer", "DefaultResponse", () => account.deleteServer(created.ID));
  },

  async inactive() {
    await step("sendEmail", "MessageSendingResponse", () => server.sendEmail(
      { From: from, To: args.to, Subject: "Again", TextBody: "Hello" }));
  },

  // One refused call each: the first rejection ends a scenario.
  async archiveDefault() {
    await step("archiveMessageStream", "MessageStreamArchiveResponse",
      () => server.archiveMessageStream("outbound"));
  },

  async unarchiveActive() {
    await step("unarchiveMessageStream", "MessageStreamUnarchiveResponse",
      () => server.unarchiveMessageStream("broadcast"));
  },

  async badToken() {
    const bad = new postmark.ServerClient("not-a-token", options);
    await step("getServer", "Server", () => bad.getServer());
  },
};

async function main() {
  const scenario = scenarios[scenarioName];
  if (!scenario) throw new Error(`unknown scenario ${scenarioName}`);
  let error = null;
  try {
    await scenario();
  } catch (failure) {
    error = { name: failure.name, message: failure.message,
              code: failure.code === undefined ? null : failure.code,
              statusCode: failure.statusCode === undefined ? null : failure.statusCode };
  }
  process.stdout.write(JSON.stringify({ results, types, error }) + "\n");
}

main().catch((failure) => {
  process.stderr.write(`${failure.stack}\n`);
  process.exit(2);
});
