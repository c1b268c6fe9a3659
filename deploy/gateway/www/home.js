// The front door: the services the gateway knows (version.json), each one's live health and its docs.
const REFRESH_MS = 10000;

async function fetchJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

function statusOf({ status, body }) {
  if (status === 200) return ["healthy", "healthy"];
  if (status === 503 && body && body.code === "service_not_started") return ["not-running", "not running"];
  return ["unhealthy", `unhealthy (HTTP ${status})`];
}

function row(service) {
  const tr = document.createElement("tr");
  tr.dataset.service = service;
  const name = document.createElement("td");
  name.textContent = service;
  const status = document.createElement("td");
  status.className = "status checking";
  status.textContent = "checking…";
  const docs = document.createElement("td");
  const link = document.createElement("a");
  link.href = `${service}/docs`;
  link.textContent = `/${service}/docs`;
  docs.append(link);
  tr.append(name, status, docs);
  return tr;
}

async function refresh(services, rows) {
  await Promise.all(
    services.map(async (service) => {
      let state;
      try {
        state = statusOf(await fetchJson(`${service}/health`));
      } catch {
        state = ["unhealthy", "gateway unreachable"];
      }
      const cell = rows.get(service).querySelector(".status");
      cell.className = `status ${state[0]}`;
      cell.textContent = state[1];
    }),
  );
}

async function main() {
  const { body } = await fetchJson("version.json");
  document.getElementById("version").textContent = body.version;
  const tbody = document.querySelector("#services tbody");
  const rows = new Map(body.services.map((service) => [service, row(service)]));
  tbody.replaceChildren(...rows.values());
  await refresh(body.services, rows);
  setInterval(() => refresh(body.services, rows), REFRESH_MS);
}

main();
