// On a phone a diagram scaled to the column is too small to read: each diagram gets a
// scrolling box, and below the tablet breakpoint (book.css) the diagram keeps a readable
// width inside it. Runs before or after Material draws the diagram: the box wraps the <pre>
// that Material later replaces, or the drawn <div>.
(function () {
  function wrap() {
    document.querySelectorAll("pre.mermaid, div.mermaid").forEach(function (diagram) {
      if (diagram.parentElement.classList.contains("diagram-scroll")) return;
      var box = document.createElement("div");
      box.className = "diagram-scroll";
      diagram.parentElement.insertBefore(box, diagram);
      box.appendChild(diagram);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wrap);
  } else {
    wrap();
  }
})();
