// Sign in and sign up: one form, two modes; errors in the API's words; `?next=` returns
// the person to where they were going.

import * as api from "../api.js";
import { h, mount, field, busy } from "../ui.js";

export async function render(main, { options, query, navigate }) {
  const register = Boolean(options.register);
  if (api.currentUser()) {
    navigate("/images");
    return;
  }
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: register ? "new-password" : "current-password",
    required: true,
    minlength: register ? 10 : false,
  });
  const invite = h("input", { type: "text", name: "invite", autocomplete: "off" });
  const box = h("div", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card narrow", novalidate: false },
    field("Email", email),
    field("Password", password, register ? "At least 10 characters; not a common password." : null),
    register ? field("Invite code (if you were given one)", invite) : null,
    box,
    h("button", { type: "submit", class: "primary" }, register ? "Create account" : "Log in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await busy(form, box, () =>
      register ? api.register(email.value.trim(), password.value, invite.value.trim()) : api.login(email.value.trim(), password.value),
    );
    if (ok) navigate(query.get("next") || "/images");
  });
  mount(
    main,
    h("h1", {}, register ? "Create an account" : "Log in"),
    form,
    h(
      "p",
      { class: "narrow" },
      register ? ["Have an account? ", h("a", { href: "#/login" }, "Log in")] : ["New here? ", h("a", { href: "#/register" }, "Create an account")],
    ),
  );
  email.focus();
}
