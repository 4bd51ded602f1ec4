// The playground page: plays Retell's side of one call over the server's own
// socket, shows the conversation as it streams, the latency of each turn and
// every protocol violation, judged by the terminal simulator's own checker
// (bundled from src/simulator/conformance.ts by `deno task playground:build`).
import { createConformanceChecker } from "./conformance.js";

/** Retell pings every 2 s when the server asks for auto_reconnect (PROTOCOL.md §3.1). */
const PING_INTERVAL_MS = 2000;
/** How often the time-based rules are checked. */
const CHECK_INTERVAL_MS = 300;
/** A sentence ends at . ! or ? followed by a space or the end of the text. */
const SENTENCE_END_REGEXP = /[.!?](\s|$)/;

const settings = JSON.parse(
  document.getElementById("playground-settings").textContent,
);
const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  form: $("call-form"),
  agentField: $("agent-field"),
  agent: $("agent"),
  socketUrl: $("socket-url"),
  secret: $("secret"),
  variables: $("variables"),
  reminderSeconds: $("reminder-seconds"),
  speak: $("speak"),
  start: $("start"),
  end: $("end"),
  conversation: $("conversation"),
  sayForm: $("say-form"),
  line: $("line"),
  mic: $("mic"),
  violations: $("violations"),
  violationCount: $("violation-count"),
  events: $("events"),
  chart: $("chart"),
  turns: document.querySelector("#turns tbody"),
};

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
ui.socketUrl.value = `${scheme}//${location.host}${settings.websocketPath}`;
for (const name of settings.agents) {
  const option = document.createElement("option");
  option.value = name;
  option.textContent = name;
  ui.agent.append(option);
}
ui.agentField.hidden = settings.agents.length === 0;

/** The call in progress, or undefined between calls. */
let call;
/** The browser's speech recognition, where it has one. */
let recognition;
/** The turns drawn in the chart: first frame, first sentence, complete. */
const chartTurns = [];

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (call === undefined) startCall();
});
ui.end.addEventListener("click", () => call?.hangUp("caller hung up"));
ui.sayForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = ui.line.value.trim();
  if (line === "" || call === undefined) return;
  ui.line.value = "";
  call.say(line);
});
setUpRecognition();

function startCall() {
  const callId = `playground_${crypto.randomUUID().slice(0, 8)}`;
  const agent = settings.agents.length > 0 ? ui.agent.value : "";
  const base = ui.socketUrl.value.trim().replace(/\/+$/, "");
  const url = new URL(
    `${base}${agent ? `/${encodeURIComponent(agent)}` : ""}/${callId}`,
  );
  if (ui.secret.value !== "") url.searchParams.set("token", ui.secret.value);
  clearCallView();
  setStatus("connecting", `Connecting as ${callId}`);
  const socket = new WebSocket(url);
  call = createCall(socket, callId, agent);
  ui.start.disabled = true;
  ui.end.disabled = false;
}

/** One call: the socket, the checker, the transcript and the timers. */
function createCall(socket, callId, agent) {
  let checker;
  let hungUp = false;
  let pingTimer;
  let reminderTimer;
  const checkTimer = setInterval(
    () => checker && showViolations(checker.check()),
    CHECK_INTERVAL_MS,
  );
  /** What was said, in order: the caller's lines and the agent's responses. */
  const said = [];
  /** Per response id (or interrupt): its bubble, when it was asked for, its times. */
  const turns = new Map();

  socket.onopen = () => {
    checker = createConformanceChecker();
    turns.set(0, { requestedAt: performance.now() });
    said.push({ responseId: 0 });
    setStatus("open", `In call ${callId}`);
    ui.line.disabled = false;
    ui.mic.disabled = recognition === undefined;
    ui.line.focus();
  };
  socket.onmessage = (message) => {
    const { event, violations, outcome } = checker.receive(message.data);
    showViolations(violations);
    if (outcome !== undefined) return heard(outcome);
    if (event !== undefined) noted(event);
  };
  socket.onclose = (close) => {
    clearInterval(checkTimer);
    clearInterval(pingTimer);
    clearTimeout(reminderTimer);
    if (checker !== undefined) {
      showViolations(checker.closed(close.code, !hungUp));
      for (const [id, turn] of turns) {
        if (checker.response(id)?.status === "closed") {
          turn.bubble?.classList.add("interrupted");
        }
      }
    }
    if (checker === undefined && !hungUp) {
      addEvent(
        "Cannot open the call: the server refused the socket or cannot be reached (is this address allowed by ALLOWED_IPS or ALLOW_LOOPBACK, and WS_SECRET entered when the server sets one?)",
      );
    } else {
      const by = hungUp ? "the playground" : "the server";
      addEvent(`Call ended by ${by}: close code ${close.code}`);
    }
    setStatus("closed", `Call ended (${close.code})`);
    ui.line.disabled = true;
    ui.mic.disabled = true;
    ui.start.disabled = false;
    ui.end.disabled = true;
    call = undefined;
  };

  function send(event) {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify(event));
    return checker.sent(event);
  }

  /** Frames Retell speaks or echoes. */
  function heard(outcome) {
    if (outcome.type === "echo") return;
    if (outcome.type === "interrupt") {
      const superseded = outcome.cancelled;
      if (superseded) markInterrupted(superseded.responseId);
      globalThis.speechSynthesis?.cancel();
      let turn = turns.get(`interrupt ${outcome.interruptId}`);
      if (turn === undefined) {
        turn = { bubble: addBubble("agent", "") };
        turns.set(`interrupt ${outcome.interruptId}`, turn);
        said.push({ interruptId: outcome.interruptId, text: "" });
        addEvent(`agent_interrupt ${outcome.interruptId}: the agent cuts in`);
      }
      turn.bubble.firstChild.textContent = outcome.text;
      said.find((item) => item.interruptId === outcome.interruptId).text =
        outcome.text;
      if (outcome.complete) {
        speak(outcome.text);
        if (outcome.action) act(outcome.action);
      }
      return;
    }
    const record = outcome.response;
    const turn = turns.get(record.responseId);
    if (turn === undefined) return;
    // The three times of a turn are all taken here, on one clock, from the
    // moment the page asked (or the socket opened, for the greeting).
    const at = performance.now() - turn.requestedAt;
    turn.bubble ??= addBubble("agent", "");
    turn.bubble.firstChild.textContent = record.text;
    turn.firstFrameMs ??= at;
    if (
      turn.firstSentenceMs === undefined &&
      SENTENCE_END_REGEXP.test(record.text)
    ) {
      turn.firstSentenceMs = at;
    }
    if (record.status !== "complete") return;
    turn.firstSentenceMs ??= at;
    turn.completeMs = at;
    addTurn(record, turn);
    speak(record.text);
    if (record.action) act(record.action);
    else if (record.kind !== "reminder") scheduleReminder();
  }

  /** Events that are not spoken: config, tools, agent updates, metadata. */
  function noted(event) {
    switch (event.response_type) {
      case "config":
        addEvent(`config: ${JSON.stringify(event.config)}`);
        if (event.config.call_details) sendCallDetails();
        if (event.config.auto_reconnect && pingTimer === undefined) {
          pingTimer = setInterval(
            () =>
              send({ interaction_type: "ping_pong", timestamp: Date.now() }),
            PING_INTERVAL_MS,
          );
        }
        return;
      case "tool_call_invocation":
        return addEvent(`tool call ${event.name}(${event.arguments})`);
      case "tool_call_result":
        return addEvent(
          `tool result ${event.tool_call_id}: ${event.content}`,
        );
      case "update_agent":
        followReminders(event.agent_config);
        return addEvent(`update_agent: ${JSON.stringify(event.agent_config)}`);
      case "metadata":
        return addEvent(`metadata: ${JSON.stringify(event.metadata)}`);
      default:
        return addEvent(`${event.response_type}: ${JSON.stringify(event)}`);
    }
  }

  /** Retell follows the agent's new reminder settings (PROTOCOL.md §5.4). */
  function followReminders(agentConfig) {
    const ms = agentConfig.reminder_trigger_ms;
    if (typeof ms === "number") ui.reminderSeconds.value = String(ms / 1000);
    if (agentConfig.reminder_max_count === 0) ui.reminderSeconds.value = "0";
  }

  function sendCallDetails() {
    const variables = {};
    for (const line of ui.variables.value.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) variables[line.slice(0, at).trim()] = line.slice(at + 1);
    }
    send({
      interaction_type: "call_details",
      call: {
        call_id: callId,
        agent_id: agent || "playground",
        call_type: "web_call",
        metadata: { source: "playground" },
        retell_llm_dynamic_variables: variables,
      },
    });
    addEvent(`call_details sent: ${JSON.stringify(variables)}`);
  }

  /** A response's action runs once its content has been spoken (PROTOCOL.md §5.6). */
  function act(action) {
    if (action.type === "end_call") {
      addEvent("The agent hangs up");
      hangUp("agent hung up");
    } else if (action.type === "transfer_call") {
      addEvent(`The agent transfers the call to ${action.number}`);
      hangUp("call transferred");
    } else {
      addEvent(`The agent presses ${action.digits}`);
    }
  }

  function scheduleReminder() {
    clearTimeout(reminderTimer);
    const seconds = Number(ui.reminderSeconds.value);
    if (!(seconds > 0)) return;
    reminderTimer = setTimeout(() => {
      const id = checker.latestResponseId + 1;
      turns.set(id, { requestedAt: performance.now() });
      said.push({ responseId: id });
      send({
        interaction_type: "reminder_required",
        response_id: id,
        transcript: transcript(),
      });
      addEvent(`reminder_required ${id} after ${seconds} s of silence`);
    }, seconds * 1000);
  }

  /** The transcript Retell would send: every line spoken so far. */
  function transcript() {
    const lines = [];
    for (const item of said) {
      const content = item.role === "user"
        ? item.content
        : item.text ?? checker.response(item.responseId)?.text ?? "";
      if (content !== "") lines.push({ role: item.role ?? "agent", content });
    }
    return lines;
  }

  function markInterrupted(responseId) {
    turns.get(responseId)?.bubble?.classList.add("interrupted");
  }

  function say(line) {
    if (checker === undefined) return;
    clearTimeout(reminderTimer);
    globalThis.speechSynthesis?.cancel();
    said.push({ role: "user", content: line });
    addBubble("user", line);
    const id = checker.latestResponseId + 1;
    turns.set(id, { requestedAt: performance.now() });
    const superseded = send({
      interaction_type: "response_required",
      response_id: id,
      transcript: transcript(),
    });
    said.push({ responseId: id });
    if (superseded !== undefined) {
      markInterrupted(superseded.responseId);
      addEvent(
        `Barge-in: response ${superseded.responseId} superseded by ${id}`,
      );
    }
  }

  function hangUp(reason) {
    hungUp = true;
    socket.close(1000, reason);
  }

  return { say, hangUp };
}

function clearCallView() {
  for (
    const list of [
      ui.conversation,
      ui.violations,
      ui.events,
      ui.turns,
      ui.chart,
    ]
  ) {
    list.replaceChildren();
  }
  ui.violationCount.textContent = "0";
  chartTurns.length = 0;
}

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

function addBubble(role, text) {
  const item = document.createElement("li");
  item.className = role;
  item.append(document.createTextNode(text));
  ui.conversation.append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function addEvent(text) {
  const item = document.createElement("li");
  item.textContent = text;
  ui.events.append(item);
}

function showViolations(violations) {
  for (const violation of violations) {
    const item = document.createElement("li");
    item.dataset.code = violation.code;
    item.textContent =
      `${violation.code} (${violation.rule}): ${violation.message}`;
    ui.violations.append(item);
  }
  ui.violationCount.textContent = String(ui.violations.children.length);
}

function addTurn(record, turn) {
  const values = [turn.firstFrameMs, turn.firstSentenceMs, turn.completeMs]
    .map((ms) => Math.round(ms));
  const label = record.kind === "begin"
    ? "greeting"
    : `${record.kind} ${record.responseId}`;
  const latency = document.createElement("span");
  latency.className = "latency";
  latency.textContent = `first frame ${values[0]} ms · first sentence ${
    values[1]
  } ms · complete ${values[2]} ms`;
  turn.bubble.append(latency);
  const row = document.createElement("tr");
  row.dataset.responseId = String(record.responseId);
  for (const text of [label, ...values.map(String)]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  ui.turns.append(row);
  chartTurns.push(values);
  drawChart();
}

/** Grouped bars, the last 12 turns, scaled to the slowest. */
function drawChart() {
  const svg = "http://www.w3.org/2000/svg";
  const shown = chartTurns.slice(-12);
  const top = Math.max(1, ...shown.flat());
  const height = 120;
  const group = 320 / 12;
  const classes = ["first-frame", "first-sentence", "complete"];
  ui.chart.replaceChildren();
  shown.forEach((values, index) => {
    values.forEach((ms, series) => {
      const bar = document.createElementNS(svg, "rect");
      const barHeight = Math.max(1, (ms / top) * height);
      bar.setAttribute("class", classes[series]);
      bar.setAttribute("x", String(index * group + 2 + series * 7));
      bar.setAttribute("y", String(height - barHeight + 10));
      bar.setAttribute("width", "6");
      bar.setAttribute("height", String(barHeight));
      const title = document.createElementNS(svg, "title");
      title.textContent = `${classes[series]}: ${ms} ms`;
      bar.append(title);
      ui.chart.append(bar);
    });
  });
  const scale = document.createElementNS(svg, "text");
  scale.setAttribute("x", "318");
  scale.setAttribute("y", "10");
  scale.setAttribute("text-anchor", "end");
  scale.setAttribute("font-size", "9");
  scale.textContent = `${top} ms`;
  ui.chart.append(scale);
}

function speak(text) {
  if (!ui.speak.checked || globalThis.speechSynthesis === undefined) return;
  if (text.trim() === "") return;
  speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function setUpRecognition() {
  const Recognition = globalThis.SpeechRecognition ??
    globalThis.webkitSpeechRecognition;
  if (Recognition === undefined) {
    ui.mic.title = "This browser has no speech recognition";
    return;
  }
  recognition = new Recognition();
  recognition.lang = navigator.language;
  recognition.interimResults = false;
  recognition.onresult = (event) => {
    const result = event.results[event.results.length - 1];
    if (result.isFinal) call?.say(result[0].transcript.trim());
  };
  recognition.onend = () => ui.mic.classList.remove("listening");
  ui.mic.addEventListener("click", () => {
    ui.mic.classList.add("listening");
    recognition.start();
  });
}
