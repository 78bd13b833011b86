// The visitor widget: one WebSocket to /ws/visitor, the conversation id kept in localStorage.
"use strict";
(function () {
  const KEY = "kefu.session";
  const history = document.getElementById("history");
  const live = document.getElementById("live");
  const log = document.getElementById("messages");
  const input = document.getElementById("input");
  const state = document.getElementById("state");
  let socket = null;
  let sent = 0;
  let retry = 1000;
  let stopped = false;

  function bubble(parent, kind, text, who) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    if (who) {
      const span = document.createElement("span");
      span.className = "who";
      span.textContent = who;
      div.appendChild(span);
    }
    div.appendChild(document.createTextNode(text));
    parent.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function turn(t) {
    if (t.user) bubble(history, "me", t.user);
    if (!t.bot) return;
    if (t.label.startsWith("agent:")) bubble(history, "agent", t.bot, "人工客服 " + t.label.slice(6));
    else bubble(history, "bot", t.bot);
  }

  const handlers = {
    welcome(f) {
      localStorage.setItem(KEY, f.session);
      document.getElementById("title").textContent = f.bot + " · 在线客服";
      history.replaceChildren();
      live.replaceChildren();
      bubble(history, "bot", f.text);
      state.textContent = f.handoff ? "人工客服" : "在线";
    },
    history(f) { f.turns.forEach(turn); },
    reply(f) {
      if (!f.text) return;
      if (f.from === "agent") bubble(live, "agent", f.text, "人工客服 " + f.agent);
      else bubble(live, "bot", f.text);
    },
    status(f) {
      bubble(live, "status", f.text).dataset.state = f.state;
      state.textContent = f.state === "agent" ? "人工客服 " + f.agent : f.state === "waiting" ? "等待人工" : "在线";
    },
    error(f) { bubble(live, "error", f.message).dataset.code = f.code; },
    pong() {},
  };

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const saved = localStorage.getItem(KEY);
    const query = saved ? "?session=" + encodeURIComponent(saved) : "";
    socket = new WebSocket(scheme + location.host + "/ws/visitor" + query);
    socket.onopen = () => { retry = 1000; };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      (handlers[frame.type] || (() => {}))(frame);
    };
    socket.onclose = (event) => {
      if (event.code === 4001) {
        stopped = true;
        state.textContent = "已在其他窗口打开";
        return;
      }
      state.textContent = "连接断开，正在重连…";
      if (!stopped) setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  document.getElementById("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    sent += 1;
    socket.send(JSON.stringify({ type: "message", text: text, id: "m" + sent }));
    bubble(live, "me", text);
    input.value = "";
  });

  connect();
})();
