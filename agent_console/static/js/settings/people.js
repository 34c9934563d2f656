// Settings › Users and Teams: staff accounts (role, active, teams) and teams with their members.
// Methods of SettingsView (settings.js mixes them in): `this` is the settings view.
import {all, api} from "../api.js";
import {h} from "../dom.js";
import {t} from "../i18n.js";
import {STAFF_ROLES, field, table, roleOptions, button, who} from "./common.js";

export class PeopleSettings {
  // --- users --------------------------------------------------------------------------------
  async loadPeople() {
    [this.users, this.teams] = await Promise.all([all("/users"), all("/teams")]);
    this.ws.teams = this.teams;  // the thread's pickers follow the teams made here
    this.users.forEach((u) => this.ws.users.set(u.id, u));
  }

  staff() { return this.users.filter((u) => STAFF_ROLES.includes(u.role)); }

  teamName(id) { return this.teams.find((tm) => tm.id === id)?.name || id; }

  teamLabel() { return (id) => (id ? this.teamName(id) : t("settings.shared")); }

  // a user belongs to a team by their own team list or by the team's members (routing uses those)
  inTeam(user, team) {
    return user.team_ids.includes(team.id) || team.members.some((m) => m.user_id === user.id);
  }

  usersPanel() {
    const rows = this.users.map((u) => h("tr", {dataset: {user: u.id}, class: u.active ? "" : "inactive"},
      h("td", {}, h("strong", {text: u.name || "—"}), h("div", {class: "muted", text: u.email})),
      h("td", {}, this.admin ? this.roleSelect(u) : t(`role.${u.role}`)),
      h("td", {text: this.teams.filter((tm) => this.inTeam(u, tm)).map((tm) => tm.name).join(", ")}),
      h("td", {text: u.active ? t("settings.active") : t("settings.inactive")}),
      this.admin && h("td", {}, button(u.active ? t("settings.deactivate") : t("settings.reactivate"),
        () => this.setActive(u, !u.active), {class: "deactivate"}))));
    const headers = ["settings.name", "settings.role", "settings.teams", "settings.state", this.admin && ""];
    return [this.admin ? this.userForm() : h("p", {class: "muted", text: t("settings.read_only")}),
      table("users-table", headers.filter((x) => x !== false), rows)];
  }

  roleSelect(user) {
    return h("select", {"aria-label": t("settings.role_of", {name: who(user)}), class: "role",
      onchange: (ev) => this.setRole(user, ev.target)}, roleOptions(user.role));
  }

  userForm() {
    const name = h("input", {type: "text", id: "user-name", maxlength: 200, autocomplete: "off"});
    const email = h("input", {type: "email", id: "user-email", required: true, autocomplete: "off"});
    const password = h("input", {type: "password", id: "user-password", required: true, minlength: 8,
      autocomplete: "new-password"});
    const role = h("select", {id: "user-role"}, roleOptions());
    const boxes = this.teams.map((tm) => h("input", {type: "checkbox", value: tm.id, name: "team"}));
    const submit = async (ev) => {
      ev.preventDefault();
      const teamIds = boxes.filter((b) => b.checked).map((b) => b.value);
      const address = email.value.trim();
      await this.attempt(async () => {
        const user = await api("POST", "/users", {name: name.value.trim(), email: address,
          password: password.value, role: role.value, team_ids: teamIds});
        // routing picks from a team's members: a new member is listed there too, not only on the user
        for (const id of teamIds) await this.addMember(id, user.id);
      }, t("settings.user_created", {email: address}));
    };
    return h("form", {class: "card settings-form", id: "user-form", onsubmit: submit},
      h("h3", {text: t("settings.new_user")}),
      field(t("settings.name"), name), field(t("settings.email"), email),
      field(t("settings.password"), password), field(t("settings.role"), role),
      boxes.length ? h("fieldset", {}, h("legend", {text: t("settings.teams")}),
        boxes.map((box, i) => h("label", {class: "check"}, box, ` ${this.teams[i].name}`))) : null,
      h("button", {type: "submit", class: "primary", text: t("settings.create")}));
  }

  async setRole(user, select) {
    const ok = await this.attempt(() => api("PATCH", `/users/${user.id}`, {role: select.value}),
      t("settings.saved"));
    if (!ok) select.value = user.role;  // refused (e.g. the last admin): the list shows what is stored
  }

  async setActive(user, active) {
    if (!active && !window.confirm(t("settings.deactivate_confirm", {name: who(user)}))) return;
    await this.attempt(() => api("PATCH", `/users/${user.id}`, {active}), t("settings.saved"));
  }

  // --- teams ------------------------------------------------------------------------------------
  // read just before writing: the PATCH replaces the whole member list
  async addMember(teamId, userId) {
    const team = await api("GET", `/teams/${teamId}`);
    if (team.members.some((m) => m.user_id === userId)) return;
    await api("PATCH", `/teams/${teamId}`, {members: [...team.members, {user_id: userId}]});
  }

  async removeMember(team, user) {
    await this.attempt(async () => {
      // membership also counts from the user's own team list; that change first, as only an admin may
      // make it: a supervisor's refusal then leaves the team as it was, not half changed
      if (user.team_ids.includes(team.id)) {
        await api("PATCH", `/users/${user.id}`, {team_ids: user.team_ids.filter((id) => id !== team.id)});
      }
      const fresh = await api("GET", `/teams/${team.id}`);
      if (fresh.members.some((m) => m.user_id === user.id)) {
        const members = fresh.members.filter((m) => m.user_id !== user.id);
        await api("PATCH", `/teams/${team.id}`, {members});
      }
    }, t("settings.saved"));
  }

  teamsPanel() {
    const name = h("input", {type: "text", id: "team-name", required: true, maxlength: 200,
      autocomplete: "off"});
    const create = (ev) => {
      ev.preventDefault();
      const wanted = name.value.trim();
      return this.attempt(() => api("POST", "/teams", {name: wanted}),
        t("settings.team_created", {name: wanted}));
    };
    const form = h("form", {class: "card settings-form", id: "team-form", onsubmit: create},
      h("h3", {text: t("settings.new_team")}), field(t("settings.name"), name),
      h("button", {type: "submit", class: "primary", text: t("settings.create")}));
    const cards = this.teams.map((team) => this.teamCard(team));
    return [form, h("div", {class: "teams-grid", id: "teams-list"}, cards)];
  }

  teamCard(team) {
    const members = this.staff().filter((u) => this.inTeam(u, team));
    const others = this.staff().filter((u) => u.active && !members.includes(u));
    const pick = h("select", {"aria-label": t("settings.add_member_to", {team: team.name})},
      others.map((u) => h("option", {value: u.id, text: who(u)})));
    const add = () => this.attempt(() => this.addMember(team.id, pick.value), t("settings.saved"));
    const member = (u) => h("li", {dataset: {user: u.id}}, h("span", {text: who(u)}), " ",
      button(t("settings.remove"), () => this.removeMember(team, u),
        {class: "link", "aria-label": t("settings.remove_from", {name: who(u), team: team.name})}));
    return h("div", {class: "card team", dataset: {team: team.id}}, h("h3", {text: team.name}),
      members.length ? h("ul", {class: "members"}, members.map(member))
        : h("p", {class: "muted", text: t("settings.no_members")}),
      others.length ? h("div", {class: "row"}, pick,
        button(t("settings.add_member"), add, {class: "add-member"})) : null);
  }
}
