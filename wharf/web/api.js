// The dashboard is a client of Wharf's GraphQL API and nothing else: queries and
// mutations over HTTP, live updates over graphql-transport-ws.
//
// Signed in with a password, the session is an HttpOnly cookie the page never sees, and
// every POST carries the session's CSRF token. Signed in with an API token, the token
// stays in this tab's sessionStorage and goes in an Authorization header.

export class ApiError extends Error {
  constructor(message, { status = 0, field = null, type = null } = {}) {
    super(message);
    this.status = status;
    this.field = field;
    this.type = type;
  }
}

// What every mutation's result may be instead of its payload.
export const ERRORS = `__typename
  ... on NotFound { message } ... on Forbidden { message } ... on Conflict { message }
  ... on InvalidInput { message field } ... on QuotaExceeded { message }`;

const session = { csrf: null, token: sessionStorage.getItem("wharf.token"), me: null };

export function me() {
  return session.me;
}

function headers() {
  const sent = { "Content-Type": "application/json" };
  if (session.token) sent.Authorization = `Bearer ${session.token}`;
  else if (session.csrf) sent["X-CSRF-Token"] = session.csrf;
  return sent;
}

async function post(path, body, extra = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", headers: { ...headers(), ...extra }, body: JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (error) {
    throw new ApiError(`Wharf cannot be reached: ${error.message}`);
  }
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (!response.ok && !answer.data) {
    const first = (answer.errors || [])[0] || {};
    throw new ApiError(first.message || `HTTP ${response.status}`,
      { status: response.status, field: first.field });
  }
  return answer;
}

// Who is signed in (null: nobody): asks Wharf, which knows the cookie.
export async function resume() {
  if (session.token) {
    try {
      const data = await gql("{ me { actor kind role tenant { id name } } }");
      session.me = fromMe(data.me);
      return session.me;
    } catch {
      forget();
      return null;
    }
  }
  try {
    const response = await fetch("/session", { credentials: "same-origin" });
    if (!response.ok) return null;
    const answer = await response.json();
    session.csrf = answer.csrf;
    session.me = await describe(answer.me);
    return session.me;
  } catch {
    return null;  // (Wharf not reachable: the sign-in page says so when it is used)
  }
}

async function describe(basic) {
  const data = await gql("{ me { actor kind role tenant { id name } } }");
  return { ...fromMe(data.me), email: basic.email };
}

function fromMe(data) {
  return {
    email: data.actor.replace(/^[a-z]+:/, ""), operator: data.kind !== "member",
    role: data.role, tenant: data.tenant,
  };
}

export async function signIn(email, password, tenant) {
  const answer = await post("/session", { email, password, tenant });
  session.csrf = answer.csrf;
  session.token = null;
  session.me = await describe(answer.me);
  return session.me;
}

export async function acceptInvitation(invitation, password) {
  const answer = await post("/session/invitation", { invitation, password });
  session.csrf = answer.csrf;
  session.me = await describe(answer.me);
  return session.me;
}

export async function signInWithToken(token) {
  session.token = token.trim();
  session.csrf = null;
  const who = await resume();
  if (!who) throw new ApiError("that token is unknown, expired or revoked", { status: 401 });
  sessionStorage.setItem("wharf.token", session.token);
  return who;
}

function forget() {
  session.token = null;
  session.csrf = null;
  session.me = null;
  sessionStorage.removeItem("wharf.token");
  live.close();
}

export async function signOut() {
  if (!session.token) {
    try {
      await post("/session/sign-out", {});
    } catch {
      // (signed out already)
    }
  }
  forget();
}

// A query's data; an ApiError with the API's own words when it fails.
export async function gql(query, variables = {}) {
  const answer = await post("/graphql", { query, variables });
  if (answer.errors && answer.errors.length) throw new ApiError(answer.errors[0].message);
  return answer.data;
}

// A mutation's payload: an ApiError carrying the API's words when its result is an error.
export async function mutate(query, variables, name) {
  const data = await gql(query, variables);
  const result = data[name];
  if (result && "message" in result && result.__typename !== undefined &&
      ["NotFound", "Forbidden", "Conflict", "InvalidInput", "QuotaExceeded"].includes(result.__typename)) {
    // (as the API words it: an invalid input's field, then what is wrong with it)
    const words = result.field ? `${result.field}: ${result.message}` : result.message;
    throw new ApiError(words, { field: result.field, type: result.__typename });
  }
  return result;
}

// -- live: one WebSocket for every subscription of the page -------------------------------

class Live {
  constructor() {
    this.socket = null;
    this.ready = null;
    this.handlers = new Map();
    this.next = 1;
    this.retry = 500;
  }

  open() {
    if (this.ready) return this.ready;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/graphql`, "graphql-transport-ws");
    this.socket = socket;
    this.ready = new Promise((resolve, reject) => {
      socket.onopen = () => {
        const payload = session.token ? { authorization: `Bearer ${session.token}` } : {};
        socket.send(JSON.stringify({ type: "connection_init", payload }));
      };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "connection_ack") {
          this.retry = 500;
          resolve(socket);
        } else if (message.type === "ping") {
          socket.send(JSON.stringify({ type: "pong" }));
        } else {
          const handler = this.handlers.get(message.id);
          if (handler) handler(message);
        }
      };
      socket.onclose = () => {
        reject(new ApiError("the live connection closed"));
        const waiting = [...this.handlers.values()];
        this.socket = null;
        this.ready = null;
        if (waiting.length && session.me) {  // (come back, and resubscribe every one)
          setTimeout(() => waiting.forEach((handler) => handler({ type: "reconnect" })),
            this.retry);
          this.retry = Math.min(this.retry * 2, 10000);
        }
      };
    });
    return this.ready;
  }

  // Calls onData with each result's data; returns a function that stops it.
  subscribe(query, variables, onData, onError = () => {}) {
    let id = String(this.next++);
    let stopped = false;
    const start = async () => {
      try {
        const socket = await this.open();
        if (stopped) return;
        this.handlers.set(id, (message) => {
          if (message.type === "next") {
            if (message.payload.errors) onError(new ApiError(message.payload.errors[0].message));
            else onData(message.payload.data);
          } else if (message.type === "error") {
            onError(new ApiError(message.payload[0]?.message || "subscription refused"));
          } else if (message.type === "reconnect" && !stopped) {
            this.handlers.delete(id);
            id = String(this.next++);
            start();
          }
        });
        socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
      } catch (error) {
        onError(error);
      }
    };
    start();
    return () => {
      stopped = true;
      this.handlers.delete(id);
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ id, type: "complete" }));
      }
    };
  }

  close() {
    this.handlers.clear();
    if (this.socket) this.socket.close();
  }
}

export const live = new Live();
