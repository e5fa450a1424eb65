// The page's chart element (pages/chart_element.py): draws a Plotly figure with the Plotly build
// it is given, and reports a clicked point as the "selection" trigger.

// One load per build and page, one build after the other: a build starts loading once the one
// started before it has run and the browser has painted the charts drawn with it, so a page's
// first charts are not held up by running a larger build that only a later chart needs. Builds
// asked for together (charts that arrive at once) start smallest first, whatever order the
// charts mount in. Each build sets window.Plotly when it runs and is taken right then, before
// the next one runs.
const builds = (window.__harmInsightsBuilds ||= {});
const asked = (window.__harmInsightsAsked ||= []);

function painted() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}

function load(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error(`the chart library (${url}) could not be loaded`));
    document.head.appendChild(script);
  });
}

function startAsked() {
  for (const { url, resolve, reject } of asked.sort((a, b) => a.rank - b.rank).splice(0)) {
    const previous = window.__harmInsightsLastBuild;
    const loaded = previous ? previous.catch(() => undefined).then(painted).then(() => load(url)) : load(url);
    window.__harmInsightsLastBuild = loaded;
    loaded.then(resolve, reject);
  }
}

function plotlyBuild(url, rank) {
  if (!builds[url]) {
    builds[url] = new Promise((resolve, reject) => {
      if (!asked.length) setTimeout(startAsked, 0); // after every chart of this batch has asked
      asked.push({ url, rank, resolve, reject });
    });
    builds[url].catch(() => delete builds[url]);
  }
  return builds[url];
}

function clicked(point) {
  return {
    customdata: point.customdata ?? null,
    x: point.x ?? null,
    y: point.y ?? null,
    location: point.location ?? null,
    curve_number: point.curveNumber,
    point_number: point.pointNumber ?? null,
  };
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !data.build || !data.figure) return;
  let box = parentElement.querySelector(":scope > .harm-insights-chart");
  if (!box) {
    box = document.createElement("div");
    box.className = "harm-insights-chart";
    box.style.width = "100%";
    parentElement.appendChild(box);
    // Plotly follows the window's width only: a box that narrows or widens on its own (charts
    // side by side wrapping onto rows, the sidebar opening) is redrawn at its new width
    let width = 0;
    new ResizeObserver(([entry]) => {
      const now = Math.round(entry.contentRect.width);
      if (now === width || !box.plotly) return;
      width = now;
      requestAnimationFrame(() => {
        // a chart hidden or gone meanwhile has no size to take
        if (box.isConnected && box.offsetParent) box.plotly.Plots.resize(box).catch(() => undefined);
      });
    }).observe(box);
  }
  box.sendSelection = setTriggerValue;
  if (box.drawnVersion === data.version) return; // the same figure as drawn: nothing to redraw
  const version = (box.drawnVersion = data.version);
  // the chart's room is kept from the start, so nothing below it moves when it is drawn
  box.style.height = `${data.figure.layout.height || 450}px`;
  plotlyBuild(data.build, data.rank)
    .then((Plotly) => {
      if (box.drawnVersion !== version) return; // a newer figure came while this build loaded
      const layout = { ...data.figure.layout, autosize: true };
      return Plotly.react(box, data.figure.data, layout, { ...data.config, responsive: true }).then(() => {
        box.plotly = Plotly;
        parentElement.querySelector(":scope > .harm-insights-chart-error")?.remove();
        // each build has its own events: a box drawn by another build before listens anew
        if (data.selectable && box.listensWith !== data.build) {
          box.listensWith = data.build;
          box.on("plotly_click", (event) => box.sendSelection("selection", { points: event.points.map(clicked) }));
        }
      });
    })
    .catch((error) => {
      box.drawnVersion = undefined; // the next rerun tries again
      let note = parentElement.querySelector(":scope > .harm-insights-chart-error");
      if (!note) {
        note = document.createElement("p");
        note.className = "harm-insights-chart-error";
        parentElement.insertBefore(note, box);
      }
      note.textContent = `This chart could not be drawn: ${error.message}. Reload the page to try again.`;
    });
}
