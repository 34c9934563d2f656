// How figures are written on screen (the browser test formats the API's values the same way).
export const DASH = "—";

export function count(v) { return v === null || v === undefined ? DASH : String(v); }
export function hoursText(v) { return v === null || v === undefined ? DASH : `${v.toFixed(2)} h`; }
export function rate(v) { return v === null || v === undefined ? DASH : `${(v * 100).toFixed(1)}%`; }
export function score(v) { return v === null || v === undefined ? DASH : v.toFixed(2); }

export function change(kpi, lowerIsBetter) {
  if (kpi.change === null || kpi.change === undefined) {
    return {text: kpi.previous === null || kpi.previous === undefined ? "no data before" : "no change to compare", tone: ""};
  }
  const up = kpi.change > 0;
  const tone = kpi.change === 0 ? "" : (up !== lowerIsBetter ? "good" : "bad");
  const arrow = kpi.change === 0 ? "=" : (up ? "▲" : "▼");
  return {text: `${arrow} ${Math.abs(kpi.change * 100).toFixed(1)}% vs previous period`, tone};
}
