exports.handler = async () => 'audit';
