// Copyright (c) vdetwist authors. See LICENSE for details.
// The live web view: follows /events (server-sent snapshots) and draws the
// tables and an SVG picture of the LAN.  No libraries.
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function human(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : String(Math.round(n))) + " " + units[i];
}

function fillTable(id, rows, cells, rowAttrs) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  for (const row of rows) {
    const tr = el("tr", rowAttrs ? rowAttrs(row) : {});
    for (const cell of cells(row)) {
      if (cell instanceof Node) {
        const td = el("td");
        td.appendChild(cell);
        tr.appendChild(td);
      } else {
        tr.appendChild(el("td", typeof cell === "number" ? {class: "num"} : {}, String(cell)));
      }
    }
    body.appendChild(tr);
  }
}

function actionButton(label, action) {
  const button = el("button", {type: "button"}, label);
  button.addEventListener("click", () => act(action));
  return button;
}

async function act(action) {
  const result = document.getElementById("action-result");
  const token = document.getElementById("token").value;
  try {
    const response = await fetch("/api/action", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-VDE-Token": token},
      body: JSON.stringify(action),
    });
    const answer = await response.json();
    result.textContent = answer.ok ? "done: " + action.action
                                   : "refused: " + (answer.error || response.status);
  } catch (e) {
    result.textContent = "failed: " + e;
  }
}

function drawLAN(state) {
  const picture = document.getElementById("lan");
  picture.replaceChildren();
  const cx = 360, cy = 210, radius = 160;
  const nodes = [];
  for (const port of state.ports) {
    const descr = port.descr || "(no endpoint)";
    let kind = "host";
    if (/slirp/.test(descr)) kind = "slirp";
    else if (/^cable/.test(descr)) kind = "cable";
    nodes.push({label: "port " + port.number, sub: descr, kind: kind, active: port.active,
                id: "port-" + port.number});
  }
  const n = Math.max(nodes.length, 1);
  nodes.forEach((node, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / n;
    node.x = cx + radius * Math.cos(angle);
    node.y = cy + radius * 0.95 * Math.sin(angle);
  });
  for (const node of nodes) {
    const cls = "link" + (node.kind === "cable" ? " cable" : "");
    if (node.active) picture.appendChild(svg("line", {x1: cx, y1: cy, x2: node.x, y2: node.y,
                                                        class: cls}));
  }
  if (state.switch) {
    picture.appendChild(svg("rect", {x: cx - 60, y: cy - 22, width: 120, height: 44, rx: 8,
                                     class: "switch"}));
    picture.appendChild(svg("text", {x: cx, y: cy - 2, class: "switch-label"}, "switch"));
    picture.appendChild(svg("text", {x: cx, y: cy + 14, class: "switch-label"},
                            state.switch.mac));
  }
  for (const node of nodes) {
    const g = svg("g", {id: node.id, "data-kind": node.kind});
    g.appendChild(svg("rect", {x: node.x - 58, y: node.y - 18, width: 116, height: 36, rx: 6,
                               class: "node " + node.kind + (node.active ? "" : " inactive")}));
    g.appendChild(svg("text", {x: node.x, y: node.y - 3, class: "label"}, node.label));
    const sub = node.sub.length > 22 ? node.sub.slice(0, 21) + "\u2026" : node.sub;
    g.appendChild(svg("text", {x: node.x, y: node.y + 11, class: "label"}, sub));
    picture.appendChild(g);
  }
  if (!state.switch && state.gateway) {
    picture.appendChild(svg("text", {x: cx, y: cy, class: "label"},
                            "slirp " + state.gateway.address));
  }
}

function render(state) {
  document.getElementById("title").textContent = state.name;
  document.title = state.name;
  drawLAN(state);
  fillTable("ports", state.ports, (p) => [
    p.number, p.descr, p.vlan, p.tagged.join(" "), human(p.inBytes), human(p.outBytes),
    human(p.rateIn) + "/s", human(p.rateOut) + "/s",
    p.active ? actionButton("close", {action: "closePort", port: p.number}) : "",
  ], (p) => ({class: p.active ? "active" : "inactive", "data-port": p.number}));
  fillTable("vlans", state.vlans, (v) => [v.vid, v.untagged.join(" "), v.tagged.join(" ")]);
  fillTable("macs", state.macs, (m) => [m.mac, m.vlan, m.port, m.age]);
  fillTable("cables", state.cables, (c) => [
    c.id, c.kind, c.state, c.descr, c.peer || "", c.port === undefined || c.port === null
      ? "" : c.port, c.link]);
  fillTable("forwards", state.forwards, (f) => [
    f.protocol, (f.hostAddress ? f.hostAddress + ":" : "") + f.hostPort, f.guest,
    f.connections, f.active, f.failed, human(f.bytesToGuest), human(f.bytesFromGuest),
    actionButton("delete", {action: "removeForward", protocol: f.protocol,
                            hostPort: f.hostPort}),
  ], (f) => ({"data-forward": f.protocol + "/" + f.hostPort}));
  fillTable("flows", state.flows, (f) => [
    f.protocol, f.guest, f.destination, f.bytesOut, f.bytesIn, f.age]);
  fillTable("hosts", state.hosts, (h) => [
    h.name, h.address, h.mac, h.tcpConnections, h.retransmissions]);
  const when = new Date(state.time * 1000);
  document.getElementById("status").textContent = "live, updated " + when.toLocaleTimeString();
}

document.getElementById("add-forward").addEventListener("submit", (event) => {
  event.preventDefault();
  act({action: "addForward", protocol: document.getElementById("fw-protocol").value,
       spec: document.getElementById("fw-spec").value});
});

const events = new EventSource("/events");
events.addEventListener("snapshot", (event) => render(JSON.parse(event.data)));
events.addEventListener("error", () => {
  document.getElementById("status").textContent = "disconnected, retrying\u2026";
});
