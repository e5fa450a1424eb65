// The page's chart element (pages/chart_element.py): draws a Plotly figure with the Plotly build
// it is given, and reports a clicked point as the "selection" trigger.

// One load per build and page. Each build sets window.Plotly when it runs; a script's load event
// comes right after it ran, before any other script runs, so each build is taken there.
const builds = (window.__harmInsightsBuilds ||= {});

function plotlyBuild(url) {
  builds[url] ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.async = true;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => {
      delete builds[url];
      reject(new Error(`the chart library (${url}) could not be loaded`));
    };
    document.head.appendChild(script);
  });
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
  if (!data || !data.build) return;
  if (!data.figure) {
    plotlyBuild(data.build); // fetch and run the library while the server computes the page
    return;
  }
  let box = parentElement.querySelector(":scope > .harm-insights-chart");
  if (!box) {
    box = document.createElement("div");
    box.className = "harm-insights-chart";
    box.style.width = "100%";
    parentElement.appendChild(box);
  }
  // the chart's room is kept from the start, so nothing below it moves when it is drawn
  box.style.height = `${data.figure.layout.height || 450}px`;
  box.sendSelection = setTriggerValue;
  plotlyBuild(data.build)
    .then((Plotly) => {
      const layout = { ...data.figure.layout, autosize: true };
      return Plotly.react(box, data.figure.data, layout, { ...data.config, responsive: true }).then(() => {
        if (data.selectable && !box.listensForClicks) {
          box.listensForClicks = true;
          box.on("plotly_click", (event) => box.sendSelection("selection", { points: event.points.map(clicked) }));
        }
      });
    })
    .catch((error) => {
      box.textContent = `This chart could not be drawn: ${error.message}. Reload the page to try again.`;
    });
}
