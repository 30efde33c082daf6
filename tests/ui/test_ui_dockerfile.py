"""Issue 23 in the explorer: with the Dockerfile that built the seed, the Layers pane, the layer details and
the hints screen show each layer's line; the docker commit layer has none and its hint says how it was made."""

from __future__ import annotations

from dive_py.analysis.analyze import Analysis
from dive_py.dockerfile.parse import parse_text
from dive_py.ui.app import DivepyApp
from dive_py.ui.hints_screen import HintsScreen
from tests.fixtures.ui_probes import record_notes

TOMCAT = """FROM debian
ENV CATALINA_HOME /usr/local/tomcat
ENV PATH $CATALINA_HOME/bin:$PATH
RUN mkdir -p "$CATALINA_HOME"
WORKDIR $CATALINA_HOME
ADD tomcat.tar ./
RUN set -eux; \\
    echo 'tomcat:x:1000:1000:Apache Tomcat:/usr/local/tomcat:/bin/false' >> /etc/passwd; \\
    echo 'tomcat:x:1000:' >> /etc/group; \\
    chmod 755 bin/*.sh; \\
    chown -R tomcat:tomcat logs temp work; \\
    chmod 1777 logs temp work
EXPOSE 8080
CMD ["catalina.sh", "run"]
"""


async def test_layers_details_and_hints_show_the_lines(tomcat: Analysis) -> None:
    app = DivepyApp(tomcat, dockerfile=parse_text(TOMCAT, "Dockerfile"))
    posted = record_notes(app)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane = app.explorer.layers_pane
        assert pane.labels[1] == 'Dockerfile:4 RUN mkdir -p "$CATALINA_HOME"'
        assert pane.labels[2] == "Dockerfile:6 ADD tomcat.tar ./"
        assert pane.labels[3].startswith("Dockerfile:7-12 RUN set -eux; echo")
        assert pane.labels[0].startswith("FROM ") and pane.labels[4] == "sleep 1000"  # base and commit: no line
        assert "Dockerfile:6 ADD tomcat.tar ./" in pane.line_text(2, 140)
        pane.action_move(2)
        await pilot.pause()
        body = str(app.explorer.layer_details.body.render())
        assert body.startswith("Dockerfile:\nDockerfile:6 ADD tomcat.tar ./\nCommand:")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, HintsScreen)
        detail = str(app.screen.query_one("#hint-detail").render())
        assert "At:      made by docker commit (comment: 'edit webapps dir', author: xiao)" in detail
        notes = [str(note.message) for note in posted]
        assert any(
            "1 step(s) of the image's history not in the Dockerfile (first: sleep 1000, made by docker commit" in n
            for n in notes
        )
