//! The computational graph drawn as SVG by `layout-rs`, in Rust.

use layout::backends::svg::SVGWriter;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::gv::{DotParser, GraphBuilder};

use super::Trace;

impl Trace {
    /// The computational graph of [`to_dot`](Trace::to_dot), laid out and drawn as an SVG
    /// document by the `layout-rs` crate (no external program). Save it to a `.svg` file
    /// and open it in a browser. Needs the `svg` feature (on by default).
    ///
    /// ```
    /// # use autodiff_runtime::trace::Trace;
    /// let mut t = Trace::new("f");
    /// t.push_input("x", 2.0);
    /// let v1 = t.push_node("sin v₀", [(0, 2.0_f64.cos(), "cos v₀")], 2.0_f64.sin());
    /// t.set_output(v1);
    /// let svg = t.to_svg();
    /// assert!(svg.contains("<svg") && svg.contains("sin v₀"));
    /// ```
    pub fn to_svg(&self) -> String {
        let dot = self.to_dot();
        let mut parser = DotParser::new(&dot);
        let graph = match parser.process() {
            Ok(graph) => graph,
            Err(error) => panic!("Trace::to_svg: layout-rs cannot read the DOT ({error}):\n{dot}"),
        };
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        if visual.num_nodes() == 0 {
            // layout-rs cannot lay out an empty graph.
            return "<svg width=\"20\" height=\"20\" viewBox=\"0 0 20 20\" \
                    xmlns=\"http://www.w3.org/2000/svg\"></svg>\n"
                .to_string();
        }
        let mut canvas = Canvas {
            svg: SVGWriter::new(),
            extent: Point::zero(),
        };
        visual.do_it(false, false, false, &mut canvas);
        canvas.finish()
    }
}

/// `layout-rs`'s SVG writer, measuring what is drawn: the writer sizes the picture from each
/// label's length in bytes, which leaves a wide margin under labels with subscripts.
struct Canvas {
    svg: SVGWriter,
    /// The bottom-right corner of everything drawn.
    extent: Point,
}

impl Canvas {
    fn grow(&mut self, corner: Point) {
        self.extent = Point::new(self.extent.x.max(corner.x), self.extent.y.max(corner.y));
    }

    /// The SVG with its size set to what was drawn, plus a margin.
    fn finish(self) -> String {
        let svg = self.svg.finalize();
        let (width, height) = (self.extent.x.ceil() + 20.0, self.extent.y.ceil() + 20.0);
        let Some(start) = svg.find("<svg ") else {
            return svg;
        };
        let Some(end) = svg[start..].find(" xmlns=") else {
            return svg;
        };
        format!(
            "{}<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\"{}",
            &svg[..start],
            &svg[start + end..]
        )
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        self.grow(xy.add(size));
        self.svg.draw_rect(xy, size, look, properties, clip);
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.grow(start);
        self.grow(stop);
        self.svg.draw_line(start, stop, look, properties);
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        // The writer draws the ellipse centred at xy with diameters size.
        self.grow(xy.add(size.scale(0.5)));
        self.svg.draw_circle(xy, size, look, properties);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        // Centred at xy, about 0.6 em per character, one line per line.
        let font = look.font_size as f64;
        let columns = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
        let lines = text.lines().count().max(1) as f64;
        self.grow(xy.add(Point::new(0.3 * font * columns, 0.5 * font * lines)));
        self.svg.draw_text(xy, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        for (point, control) in path {
            self.grow(*point);
            self.grow(*control);
        }
        self.svg
            .draw_arrow(path, dashed, head, look, properties, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.svg.create_clip(xy, size, rounded_px)
    }
}
