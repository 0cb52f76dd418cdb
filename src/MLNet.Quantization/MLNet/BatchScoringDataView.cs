using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Quantization;

/// <summary>
/// The lazy result of <see cref="QuantizedModelTransformer.Transform"/>: the source's columns plus the model outputs,
/// with the schema ML.NET's OnnxTransformer gives. Its cursor reads up to a batch of rows ahead, runs ONNX Runtime once
/// for them, and serves them one at a time.
/// </summary>
internal sealed class BatchScoringDataView : IDataView
{
    private readonly IDataView _source;
    private readonly InferenceSession _session;
    private readonly IReadOnlyList<ModelInputBinding> _inputs;
    private readonly int _batchSize;

    public BatchScoringDataView(IDataView source, DataViewSchema schema, InferenceSession session, IReadOnlyList<ModelInputBinding> inputs, int batchSize)
    {
        _source = source;
        Schema = schema;
        _session = session;
        _inputs = inputs;
        _batchSize = batchSize;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = new HashSet<int>(columnsNeeded.Select(c => c.Index));
        int sourceCount = _source.Schema.Count;
        var outputs = Schema.Where(c => c.Index >= sourceCount && needed.Contains(c.Index)).ToList();
        var passThrough = needed.Where(i => i < sourceCount).Select(i => _source.Schema[i]).ToList();
        var sourceNeeded = new HashSet<int>(passThrough.Select(c => c.Index));
        if (outputs.Count > 0)
        {
            foreach (var input in _inputs)
                sourceNeeded.Add(_source.Schema[input.Name].Index);
        }

        var cursor = _source.GetRowCursor(sourceNeeded.Select(i => _source.Schema[i]));
        return new BatchScoringCursor(this, cursor, passThrough, outputs);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class BatchScoringCursor : DataViewRowCursor
    {
        private readonly BatchScoringDataView _parent;
        private readonly DataViewRowCursor _source;
        private readonly Dictionary<int, Delegate> _getters = [];
        private readonly List<RowValueCache> _caches = [];
        private readonly List<InputColumnReader> _readers = [];
        private readonly List<OutputColumnBuffer> _outputs = [];
        private readonly DataViewRowId[] _ids;
        private readonly ValueGetter<DataViewRowId> _sourceId;
        private int _filled;
        private int _slot = -1;
        private long _position = -1;
        private bool _done;
        private string[]? _inputNames;
        private string[]? _outputNames;
        private RunOptions? _runOptions;

        public BatchScoringCursor(BatchScoringDataView parent, DataViewRowCursor source, List<DataViewSchema.Column> passThrough, List<DataViewSchema.Column> outputs)
        {
            _parent = parent;
            _source = source;
            int capacity = parent._batchSize;
            _ids = new DataViewRowId[capacity];
            _sourceId = source.GetIdGetter();
            foreach (var column in passThrough)
            {
                var cache = RowValueCache.Create(source, column, capacity, CurrentSlot);
                _caches.Add(cache);
                _getters[column.Index] = cache.Getter;
            }

            if (outputs.Count > 0)
            {
                foreach (var input in parent._inputs)
                    _readers.Add(InputColumnReader.Create(input, source, capacity));
                foreach (var column in outputs)
                {
                    var buffer = OutputColumnBuffer.Create(column, capacity, CurrentSlot);
                    _outputs.Add(buffer);
                    _getters[column.Index] = buffer.Getter;
                }
            }
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => _getters.ContainsKey(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_getters.TryGetValue(column.Index, out var getter))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = _ids[CurrentSlot()];

        public override bool MoveNext()
        {
            if (_done)
                return false;
            if (_slot + 1 < _filled)
            {
                _slot++;
                _position++;
                return true;
            }

            _filled = 0;
            while (_filled < _ids.Length && _source.MoveNext())
            {
                _sourceId(ref _ids[_filled]);
                foreach (var cache in _caches)
                    cache.Read(_filled);
                foreach (var reader in _readers)
                    reader.Read(_filled);
                _filled++;
            }

            if (_filled == 0)
            {
                _done = true;
                _slot = -1;
                return false;
            }

            Score();
            _slot = 0;
            _position++;
            return true;
        }

        private void Score()
        {
            if (_outputs.Count == 0)
                return;
            _inputNames ??= _readers.Select(r => r.Binding.Name).ToArray();
            _outputNames ??= _outputs.Select(o => o.Name).ToArray();
            _runOptions ??= new RunOptions();
            var values = _readers.Select(r => r.ToOrtValue(_filled)).ToArray();
            try
            {
                using var results = Runtime.OrtBoundary.Run(
                    () => _parent._session.Run(_runOptions, _inputNames, values, _outputNames), "quantized model", $"score rows from {_position + 1}");
                for (int i = 0; i < _outputs.Count; i++)
                    _outputs[i].Fill(results[i], _filled);
            }
            finally
            {
                foreach (var value in values)
                    value.Dispose();
            }
        }

        private int CurrentSlot()
        {
            if (_slot < 0)
                throw new InvalidOperationException("The cursor is not on a row: call MoveNext first.");
            return _slot;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _source.Dispose();
                _runOptions?.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
