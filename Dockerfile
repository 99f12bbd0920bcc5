FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY engine ./engine
COPY streams ./streams
COPY projections ./projections
COPY adapters ./adapters
RUN pip install --no-cache-dir -c constraints.txt .
ENV AGNOSTREAM_HOST=0.0.0.0 AGNOSTREAM_LOG_PATH=/data/agnostream.db AGNOSTREAM_DB_PATH=/data/agnostream-views.db
VOLUME /data
EXPOSE 7777
CMD ["agnostream", "serve"]
