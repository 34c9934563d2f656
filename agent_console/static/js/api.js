// The console speaks to /api/v1 through the hub's one browser client (shared with the dashboard).
export * from "/static/js/api.js";
